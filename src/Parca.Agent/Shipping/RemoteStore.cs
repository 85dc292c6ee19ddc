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
/// pprof with <c>ProfileStoreService.WriteRaw</c>, through the shared <see cref="ProfileSender{T}"/> (the forwarder's
/// too): profiles wait in a bounded buffer (when full the oldest is dropped and counted) and every
/// --remote-store-batch-write-interval they go out in one request (up to 8 MiB), series with the same label set
/// merged. A transient failure keeps the batch and retries it with exponential back-off (1 s doubling, capped at the
/// interval), as Parca Agent does; a refused batch is split so one bad profile is dropped and the rest arrive.
/// </summary>
internal sealed partial class RemoteStore : IProfileStore, IAsyncDisposable
{
    /// <summary>The __name__ of the agent's CPU profiles (Parca Agent's): queries select parca_agent_cpu:samples:count:cpu:nanoseconds:delta.</summary>
    public const string ProfileName = "parca_agent_cpu";

    /// <summary>Bytes of profiles the buffer holds at most besides its profile count bound.</summary>
    internal const long MaxBufferedBytes = 64L * 1024 * 1024;

    private readonly GrpcChannel _channel;
    private readonly ProfileStoreService.ProfileStoreServiceClient _client;
    private readonly ProfileSender<ProfileSeries> _sender;

    public RemoteStore(string address, RpcChannelOptions channelOptions, TimeSpan interval, TimeSpan timeout, int capacity, ILogger logger)
    {
        _channel = GrpcChannels.Create(address, channelOptions);
        _client = new ProfileStoreService.ProfileStoreServiceClient(_channel);
        _sender = new ProfileSender<ProfileSeries>(
            new ProfileSenderOptions
            {
                Destination = "--remote-store-address",
                MaxQueuedProfiles = capacity,
                MaxQueuedBytes = MaxBufferedBytes,
                MaxBatchBytes = Math.Min(8 * 1024 * 1024, channelOptions.MaxMessageSize),
                // Arrow ingest merges a call's rows of one series into one profile at the earliest time: windows that
                // queued up behind a slow send (or a window processor that fell behind) must travel in separate calls.
                OneProfilePerSeries = true,
                FlushInterval = interval,
                CallTimeout = timeout,
                InitialBackoff = TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, interval.Ticks)),
                MaxBackoff = interval,
                ShutdownFlushTimeout = TimeSpan.FromTicks(Math.Min(timeout.Ticks, TimeSpan.TicksPerSecond * 10)),
            },
            SendAsync,
            static s => s.PprofGzip.Length + 64L * s.Labels.Count,
            static s => LabelSetBuilder.Format(s.Labels),
            logger);
    }

    /// <summary>Buffered includes the batch being sent; Failed counts failed calls (each retried).</summary>
    public (long Buffered, long Dropped, long Sent, long Failed) Stats =>
        (_sender.QueuedProfiles, _sender.Dropped, _sender.Sent, _sender.Failures);

    /// <summary>Profiles the store refused as invalid (dropped, not retried).</summary>
    public long Rejected => _sender.Rejected;

    public ValueTask WriteAsync(ProfileSeries series, CancellationToken cancellationToken)
    {
        _sender.Enqueue(series);
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

    /// <summary>One attempt at everything buffered (tests); on a transient failure it stays buffered.</summary>
    internal Task<bool> FlushAsync(CancellationToken cancellationToken) => _sender.FlushOnceAsync(cancellationToken);

    private Task SendAsync(IReadOnlyList<ProfileSeries> batch, DateTime deadline, CancellationToken cancellationToken)
    {
        if (!UseV2Schema)
        {
            return _client.WriteRawAsync(BuildRequest(batch), deadline: deadline, cancellationToken: cancellationToken).ResponseAsync;
        }

        WriteArrowRequest request;
        try
        {
            request = BuildArrowRequest(batch);
        }
        catch (Parca.Pprof.PprofException e)
        {
            // A profile that cannot become Arrow rows would be refused by any store: the sender splits and drops it.
            throw new RpcException(new Status(StatusCode.InvalidArgument, "profile could not be converted to Arrow rows: " + e.Message));
        }

        return _client.WriteArrowAsync(request, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync;
    }

    public async ValueTask DisposeAsync()
    {
        await _sender.DisposeAsync().ConfigureAwait(false);
        _channel.Dispose();
    }
}
