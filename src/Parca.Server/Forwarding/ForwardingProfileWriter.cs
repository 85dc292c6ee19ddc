using System.Diagnostics.Metrics;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc.Client;
using Parca.Server.Observability;
using Parca.Server.Scrape;

namespace Parca.Server.Forwarding;

/// <summary>
/// <c>--mode=scraper-only</c> / <c>forwarder</c>: instead of storing, scraped profiles are sent with <c>WriteRaw</c> to
/// <c>--store-address</c> (bearer token, TLS or <c>--insecure</c>, <c>--external-label</c>s added).
/// <para>
/// Delivery: writes return at once into a FIFO queue; one sender takes a batch from its head (up to 8 MiB) and sends it
/// until the store accepts it. A batch that fails for a transient reason (store down, deadline, connection reset, any
/// status but the ones below) is kept and retried with exponential back-off (200 ms doubling to 30 s), so nothing is
/// lost while the queue has room. A batch the store refuses as invalid (<c>INVALID_ARGUMENT</c>,
/// <c>RESOURCE_EXHAUSTED</c>, <c>OUT_OF_RANGE</c>, <c>UNIMPLEMENTED</c>) is split and its profiles resent one by one,
/// so one bad profile cannot block or take down the others; a single refused profile is dropped and counted in
/// <c>parca_forward_rejected_total</c>. The queue (not counting the batch being sent) is bounded in profiles and bytes:
/// when the store is down long enough to fill it, the oldest waiting profiles are dropped
/// (<c>parca_forward_dropped_total</c>). At shutdown (after scraping stopped) the queue is flushed for up to
/// <see cref="ForwarderOptions.ShutdownFlushTimeout"/>: a back-off in progress is cut short and retries come at
/// most 500 ms apart; what still cannot be delivered then is counted as dropped.
/// </para>
/// <para>Delivery is at least once: a batch whose response is lost after the store took it is sent again.</para>
/// </summary>
public sealed partial class ForwardingProfileWriter : IProfileWriter, IAsyncDisposable
{
    private const int MaxBatchBytes = 8 * 1024 * 1024;
    private static readonly TimeSpan s_initialBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan s_maxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan s_flushBackoff = TimeSpan.FromMilliseconds(500);

    private readonly GrpcChannel _channel;
    private readonly ProfileStoreService.ProfileStoreServiceClient _client;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _externalLabels;
    private readonly ILogger<ForwardingProfileWriter> _logger;
    private readonly ForwarderOptions _options;
    private readonly int _maxBatchBytes;
    private readonly object _gate = new();
    private readonly Queue<Pending> _waiting = new(); // guarded by _gate
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _closing = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _sender;
    private readonly Meter _meter;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _failures;
    private long _waitingBytes; // guarded by _gate
    private int _inFlight; // profiles in the batch being sent; written by the sender only
    private bool _closed; // guarded by _gate
    private int _disposed;

    public ForwardingProfileWriter(ForwarderOptions options, IMeterFactory meters, ILogger<ForwardingProfileWriter> logger)
    {
        _logger = logger;
        _options = options;
        _externalLabels = options.ExternalLabels;
        _maxBatchBytes = Math.Min(MaxBatchBytes, options.MaxMessageSize);
        _channel = GrpcChannels.Create(options.StoreAddress, new RpcChannelOptions
        {
            Insecure = options.Insecure,
            InsecureSkipVerify = options.InsecureSkipVerify,
            BearerToken = options.BearerToken,
            MaxMessageSize = options.MaxMessageSize,
            Handler = options.Handler,
            TlsCaFile = options.TlsCaFile,
            TlsCertFile = options.TlsCertFile,
            TlsKeyFile = options.TlsKeyFile,
        });
        _client = new ProfileStoreService.ProfileStoreServiceClient(_channel);
        _meter = meters.Create(ParcaMeters.Scrape);
        _sent = _meter.CreateCounter<long>("parca_forward_profiles_sent_total", null, "Profiles forwarded to --store-address.");
        _dropped = _meter.CreateCounter<long>("parca_forward_dropped_total", null, "Profiles dropped because the forward queue was full or the store was still unreachable at shutdown.");
        _rejected = _meter.CreateCounter<long>("parca_forward_rejected_total", null, "Profiles the store refused as invalid (not retried).");
        _failures = _meter.CreateCounter<long>("parca_forward_failures_total", null, "WriteRaw calls to --store-address that failed (each is retried).");
        _meter.CreateObservableGauge("parca_forward_queue_bytes", QueuedBytes, "By", "Bytes of profiles waiting to be forwarded.");
        _meter.CreateObservableGauge("parca_forward_queue_profiles", QueuedProfiles, null, "Profiles waiting to be forwarded, including the batch being sent.");
        _sender = Task.Run(SendLoopAsync);
    }

    public ValueTask WriteRawAsync(IReadOnlyList<KeyValuePair<string, string>> labels, ReadOnlyMemory<byte> pprof, IReadOnlyList<Scrape.ExecutableInfo> executableInfos, CancellationToken cancellationToken)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, value) in labels)
        {
            series.Labels.Labels.Add(new Label { Name = name, Value = value });
            names.Add(name);
        }

        foreach (var (name, value) in _externalLabels)
        {
            if (names.Add(name))
            {
                series.Labels.Labels.Add(new Label { Name = name, Value = value });
            }
        }

        var sample = new RawSample { RawProfile = ByteString.CopyFrom(pprof.Span) }; // the scraper's buffer is pooled
        foreach (var info in executableInfos)
        {
            sample.ExecutableInfo.Add(new Protocol.Profilestore.V1Alpha1.ExecutableInfo
            {
                ElfType = info.ElfType,
                LoadSegment = new LoadSegment { Offset = info.Offset, Vaddr = info.VAddr },
            });
        }

        series.Samples.Add(sample);
        var size = series.CalculateSize();
        if (size > _options.MaxQueuedBytes)
        {
            throw new InvalidOperationException($"profile of {size} bytes exceeds the forward queue's {_options.MaxQueuedBytes} byte bound");
        }

        var dropped = 0;
        lock (_gate)
        {
            if (_closed)
            {
                throw new InvalidOperationException("the forwarder is shutting down");
            }

            // Bounds: drop the oldest waiting profiles until this one fits.
            while (_waiting.Count > 0 && (_waiting.Count >= _options.MaxQueuedProfiles || _waitingBytes + size > _options.MaxQueuedBytes))
            {
                _waitingBytes -= _waiting.Dequeue().Size;
                dropped++;
            }

            _waiting.Enqueue(new Pending(series, size));
            _waitingBytes += size;
        }

        if (dropped > 0)
        {
            _dropped.Add(dropped);
            ForwardLog.QueueFull(_logger, dropped, _options.MaxQueuedProfiles, _options.MaxQueuedBytes);
        }

        if (_signal.CurrentCount == 0)
        {
            _signal.Release(); // one pending wake-up is enough: the sender drains the queue each time
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Whether shutdown began (no more profiles are accepted; the queue is being flushed).</summary>
    internal bool Closed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    private long QueuedBytes()
    {
        lock (_gate)
        {
            return _waitingBytes;
        }
    }

    private long QueuedProfiles()
    {
        lock (_gate)
        {
            return _waiting.Count + Volatile.Read(ref _inFlight);
        }
    }

    /// <summary>Takes a batch from the head of the queue: at least one profile, at most the batch size in bytes.</summary>
    private List<RawProfileSeries>? TakeBatch(out bool closed)
    {
        lock (_gate)
        {
            closed = _closed;
            if (_waiting.Count == 0)
            {
                return null;
            }

            var batch = new List<RawProfileSeries>();
            long bytes = 0;
            while (_waiting.TryPeek(out var next) && (batch.Count == 0 || bytes + next.Size <= _maxBatchBytes))
            {
                _waiting.Dequeue();
                _waitingBytes -= next.Size;
                bytes += next.Size;
                batch.Add(next.Series);
            }

            Volatile.Write(ref _inFlight, batch.Count);
            return batch;
        }
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (true)
            {
                var batch = TakeBatch(out var closed);
                if (batch is null)
                {
                    if (closed)
                    {
                        return; // flushed
                    }

                    await _signal.WaitAsync(_stop.Token);
                    continue;
                }

                await SendAsync(batch);
                Volatile.Write(ref _inFlight, 0);
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Shutdown after the flush deadline (the call in flight ends as cancelled): what is left is lost.
            int abandoned;
            lock (_gate)
            {
                abandoned = _waiting.Count + Volatile.Read(ref _inFlight);
                _waiting.Clear();
                _waitingBytes = 0;
            }

            if (abandoned > 0)
            {
                _dropped.Add(abandoned);
                ForwardLog.Abandoned(_logger, abandoned, _options.ShutdownFlushTimeout);
            }
        }
    }

    /// <summary>Sends until the store took the batch or refused its profiles as invalid; throws only when stopped.</summary>
    private async Task SendAsync(List<RawProfileSeries> batch)
    {
        var request = new WriteRawRequest();
        request.Series.AddRange(batch);
        var backoff = s_initialBackoff;
        while (true)
        {
            try
            {
                await _client.WriteRawAsync(request, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: _stop.Token);
                _sent.Add(batch.Count);
                return;
            }
            catch (RpcException e) when (IsRefusal(e.StatusCode) && !_stop.IsCancellationRequested)
            {
                if (batch.Count == 1)
                {
                    _rejected.Add(1);
                    ForwardLog.Rejected(_logger, e.StatusCode, e.Status.Detail, LabelText(batch[0]));
                    return;
                }

                // Which profile was refused is unknown: send each alone so the valid ones still arrive.
                ForwardLog.Splitting(_logger, batch.Count, e.StatusCode, e.Status.Detail);
                foreach (var series in batch)
                {
                    await SendAsync([series]);
                    Volatile.Write(ref _inFlight, Volatile.Read(ref _inFlight) - 1);
                }

                return;
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                // Anything else is transient as far as we can tell: keep the batch and try again.
                _failures.Add(1);
                ForwardLog.SendFailed(_logger, batch.Count, e.Message, backoff);
                if (_closing.Task.IsCompleted)
                {
                    // Flushing at shutdown: retry often within the flush timeout rather than sleep through it.
                    await Task.Delay(TimeSpan.FromTicks(Math.Min(backoff.Ticks, s_flushBackoff.Ticks)), _stop.Token);
                }
                else
                {
                    // Shutdown cuts a long back-off short, so the flush starts at once.
                    await Task.WhenAny(Task.Delay(backoff, _stop.Token), _closing.Task);
                    _stop.Token.ThrowIfCancellationRequested();
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, s_maxBackoff.Ticks));
            }
        }
    }

    /// <summary>Statuses meaning the store will never take this request as it is, so retrying it unchanged is useless.</summary>
    private static bool IsRefusal(StatusCode status) =>
        status is StatusCode.InvalidArgument or StatusCode.ResourceExhausted or StatusCode.OutOfRange or StatusCode.Unimplemented;

    private static string LabelText(RawProfileSeries series) =>
        "{" + string.Join(", ", series.Labels.Labels.Select(l => $"{l.Name}=\"{l.Value}\"")) + "}";

    /// <summary>Stops accepting profiles and delivers what is queued, for at most <see cref="ForwarderOptions.ShutdownFlushTimeout"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // registered under two service types, so the container disposes it twice
        }

        lock (_gate)
        {
            _closed = true;
        }

        _closing.TrySetResult();
        _signal.Release();
        _stop.CancelAfter(_options.ShutdownFlushTimeout);
        await _sender;
        _channel.Dispose();
        _meter.Dispose();
        _stop.Dispose();
        _signal.Dispose();
    }

    private readonly record struct Pending(RawProfileSeries Series, long Size);
}

/// <summary>Settings of the forwarder, from the command line (<see cref="ParcaServerOptions"/>).</summary>
public sealed class ForwarderOptions
{
    public string StoreAddress { get; set; } = "";

    public bool Insecure { get; set; }

    public bool InsecureSkipVerify { get; set; }

    public string? BearerToken { get; set; }

    /// <summary>--store-tls-ca-file, --store-tls-cert-file, --store-tls-key-file.</summary>
    public string? TlsCaFile { get; set; }

    public string? TlsCertFile { get; set; }

    public string? TlsKeyFile { get; set; }

    public IReadOnlyList<KeyValuePair<string, string>> ExternalLabels { get; set; } = [];

    public int MaxMessageSize { get; set; } = 64 * 1024 * 1024;

    /// <summary>At most this many profiles wait for the store (besides the batch being sent).</summary>
    public int MaxQueuedProfiles { get; set; } = 10_000;

    /// <summary>At most this many bytes of profiles wait for the store (besides the batch being sent, up to 8 MiB).</summary>
    public long MaxQueuedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>At shutdown, how long queued profiles may still be delivered before they are given up.</summary>
    public TimeSpan ShutdownFlushTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Tests can route the channel through their own handler.</summary>
    public HttpMessageHandler? Handler { get; set; }

    public static ForwarderOptions From(ParcaServerOptions options) => new()
    {
        StoreAddress = options.StoreAddress ?? "",
        Insecure = options.Insecure,
        InsecureSkipVerify = options.InsecureSkipVerify,
        TlsCaFile = options.StoreTlsCaFile,
        TlsCertFile = options.StoreTlsCertFile,
        TlsKeyFile = options.StoreTlsKeyFile,
        BearerToken = options.BearerTokenFile is { } file ? File.ReadAllText(file).Trim() : options.BearerToken,
        ExternalLabels = [.. options.ExternalLabels.OrderBy(kv => kv.Key, StringComparer.Ordinal)],
        MaxMessageSize = options.MaxMessageSize,
    };
}

internal static partial class ForwardLog
{
    [LoggerMessage(300, LogLevel.Warning, "forwarding to the store failed, retrying: profiles={Count} err={Error} backoff={Backoff}")]
    public static partial void SendFailed(ILogger logger, int count, string error, TimeSpan backoff);

    [LoggerMessage(301, LogLevel.Warning, "forward queue full, dropped the oldest profiles: dropped={Count} max_profiles={MaxProfiles} max_bytes={MaxBytes}")]
    public static partial void QueueFull(ILogger logger, int count, int maxProfiles, long maxBytes);

    [LoggerMessage(302, LogLevel.Warning, "the store refused a batch, sending its profiles one by one: profiles={Count} code={Code} err={Error}")]
    public static partial void Splitting(ILogger logger, int count, StatusCode code, string error);

    [LoggerMessage(303, LogLevel.Error, "the store refused a profile, dropped it: code={Code} err={Error} series={Series}")]
    public static partial void Rejected(ILogger logger, StatusCode code, string error, string series);

    [LoggerMessage(304, LogLevel.Error, "shutdown: profiles not delivered to the store within the flush timeout were dropped: profiles={Count} timeout={Timeout}")]
    public static partial void Abandoned(ILogger logger, int count, TimeSpan timeout);
}
