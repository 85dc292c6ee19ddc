using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Parca.Agent.Labels;
using Parca.Agent.Profiling;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Agent.Shipping;

/// <summary>
/// Ships profiles to a Parca store, as v2 Arrow records with <c>WriteArrow</c> (the default, as Parca Agent) or as
/// pprof with <c>ProfileStoreService.WriteRaw</c>, batched: profiles wait in a bounded
/// buffer (when full the oldest is dropped and counted) and every --remote-store-batch-write-interval all of them go
/// in one request, series with the same label set merged. A failed batch goes back to the front of the buffer and
/// the next attempt waits with exponential back-off (1 s doubling, capped at the interval), as Parca Agent does.
/// </summary>
internal sealed partial class RemoteStore : IProfileStore, IAsyncDisposable
{
    /// <summary>The __name__ of the agent's CPU profiles (Parca Agent's): queries select parca_agent_cpu:samples:count:cpu:nanoseconds:delta.</summary>
    public const string ProfileName = "parca_agent_cpu";

    private readonly GrpcChannel _channel;
    private readonly ProfileStoreService.ProfileStoreServiceClient _client;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;
    private readonly int _capacity;
    private readonly ILogger _logger;
    private readonly LinkedList<ProfileSeries> _buffer = new();
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _dropped;
    private long _sent;
    private long _failed;

    public RemoteStore(string address, RpcChannelOptions channelOptions, TimeSpan interval, TimeSpan timeout, int capacity, ILogger logger)
    {
        _channel = GrpcChannels.Create(address, channelOptions);
        _client = new ProfileStoreService.ProfileStoreServiceClient(_channel);
        _interval = interval;
        _timeout = timeout;
        _capacity = capacity;
        _logger = logger;
        _loop = Task.Run(LoopAsync);
    }

    public (long Buffered, long Dropped, long Sent, long Failed) Stats
    {
        get
        {
            lock (_lock)
            {
                return (_buffer.Count, Interlocked.Read(ref _dropped), Interlocked.Read(ref _sent), Interlocked.Read(ref _failed));
            }
        }
    }

    public ValueTask WriteAsync(ProfileSeries series, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _buffer.AddLast(series);
            TrimLocked();
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Builds the WriteRaw request for a batch: one RawProfileSeries per label set, one RawSample per profile.</summary>
    internal static WriteRawRequest BuildRequest(IEnumerable<ProfileSeries> batch)
    {
        var request = new WriteRawRequest { Normalized = false };
        var bySet = new Dictionary<string, RawProfileSeries>(StringComparer.Ordinal);
        foreach (var s in batch)
        {
            var key = LabelSetBuilder.Format(s.Labels);
            if (!bySet.TryGetValue(key, out var series))
            {
                // The profile's name, as Parca Agent sends it: the server keys profile types on __name__.
                var labels = new LabelSet();
                labels.Labels.Add(new Label { Name = "__name__", Value = ProfileName });
                foreach (var (name, value) in s.Labels.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    labels.Labels.Add(new Label { Name = name, Value = value });
                }

                series = new RawProfileSeries { Labels = labels };
                bySet[key] = series;
                request.Series.Add(series);
            }

            var sample = new RawSample { RawProfile = ByteString.CopyFrom(s.PprofGzip) };
            foreach (var e in s.Executables)
            {
                sample.ExecutableInfo.Add(new ExecutableInfo
                {
                    ElfType = e.ElfType,
                    LoadSegment = new LoadSegment { Offset = e.Offset, Vaddr = e.VirtualAddress },
                });
            }

            series.Samples.Add(sample);
        }

        return request;
    }

    private void TrimLocked()
    {
        while (_buffer.Count > _capacity)
        {
            _buffer.RemoveFirst();
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task LoopAsync()
    {
        var backoff = TimeSpan.Zero;
        var token = _stop.Token;
        while (true)
        {
            var stopping = false;
            try
            {
                await Task.Delay(backoff > TimeSpan.Zero ? backoff : _interval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                stopping = true;
            }

            var ok = await FlushAsync(stopping ? CancellationToken.None : token).ConfigureAwait(false);
            backoff = ok ? TimeSpan.Zero : NextBackoff(backoff);
            if (stopping)
            {
                return;
            }
        }
    }

    private TimeSpan NextBackoff(TimeSpan current)
    {
        var next = current == TimeSpan.Zero ? TimeSpan.FromSeconds(1) : current * 2;
        return next > _interval ? _interval : next;
    }

    /// <summary>Sends everything buffered; on failure puts it back in front (subject to the bound).</summary>
    internal async Task<bool> FlushAsync(CancellationToken cancellationToken)
    {
        List<ProfileSeries> batch;
        lock (_lock)
        {
            if (_buffer.Count == 0)
            {
                return true;
            }

            batch = [.. _buffer];
            _buffer.Clear();
        }

        try
        {
            var deadline = DateTime.UtcNow + _timeout;
            if (UseV2Schema)
            {
                await _client.WriteArrowAsync(BuildArrowRequest(batch), deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _client.WriteRawAsync(BuildRequest(batch), deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            Interlocked.Add(ref _sent, batch.Count);
            return true;
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            Interlocked.Increment(ref _failed);
            LogWriteFailed(_logger, batch.Count, e.Message);
            lock (_lock)
            {
                for (var i = batch.Count - 1; i >= 0; i--)
                {
                    _buffer.AddFirst(batch[i]);
                }

                TrimLocked();
            }

            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _channel.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Write of {Series} profiles failed, will retry with back-off: {Error}")]
    private static partial void LogWriteFailed(ILogger logger, int series, string error);
}
