using System.Diagnostics.Metrics;
using Google.Protobuf;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Scrape.Forwarding;

/// <summary>
/// <c>--mode=scraper-only</c> / <c>forwarder</c>: instead of storing, scraped profiles are sent with <c>WriteRaw</c> to
/// <c>--store-address</c> (bearer token, TLS or <c>--insecure</c>, <c>--external-label</c>s added). Delivery is the
/// shared <see cref="ProfileSender{T}"/> (the agent's too): a bounded FIFO queue, batches up to 8 MiB retried with
/// back-off (200 ms doubling to 30 s) on transient failures, a refused batch split so one bad profile is dropped
/// (<c>parca_forward_rejected_total</c>) and the rest arrive, the oldest waiting profiles dropped when the queue is
/// full (<c>parca_forward_dropped_total</c>), and a flush at shutdown for <see cref="ForwarderOptions.ShutdownFlushTimeout"/>.
/// </summary>
public sealed partial class ForwardingProfileWriter : IProfileWriter, IAsyncDisposable
{
    private const int MaxBatchBytes = 8 * 1024 * 1024;

    private readonly GrpcChannel _channel;
    private readonly ProfileStoreService.ProfileStoreServiceClient _client;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _externalLabels;
    private readonly ProfileSender<RawProfileSeries> _sender;
    private readonly Meter _meter;
    private int _disposed;

    public ForwardingProfileWriter(ForwarderOptions options, IMeterFactory meters, ILogger<ForwardingProfileWriter> logger)
    {
        _externalLabels = options.ExternalLabels;
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
        _meter = meters.Create(ScrapeMetrics.MeterName);
        var sent = _meter.CreateCounter<long>("parca_forward_profiles_sent_total", null, "Profiles forwarded to --store-address.");
        var dropped = _meter.CreateCounter<long>("parca_forward_dropped_total", null, "Profiles dropped because the forward queue was full or the store was still unreachable at shutdown.");
        var rejected = _meter.CreateCounter<long>("parca_forward_rejected_total", null, "Profiles the store refused as invalid (not retried).");
        var failures = _meter.CreateCounter<long>("parca_forward_failures_total", null, "WriteRaw calls to --store-address that failed (each is retried).");
        _sender = new ProfileSender<RawProfileSeries>(
            new ProfileSenderOptions
            {
                Destination = "--store-address",
                MaxQueuedProfiles = options.MaxQueuedProfiles,
                MaxQueuedBytes = options.MaxQueuedBytes,
                MaxBatchBytes = Math.Min(MaxBatchBytes, options.MaxMessageSize),
                ShutdownFlushTimeout = options.ShutdownFlushTimeout,
                OnSent = n => sent.Add(n),
                OnDropped = n => dropped.Add(n),
                OnRejected = n => rejected.Add(n),
                OnFailure = n => failures.Add(n),
            },
            SendAsync,
            static series => series.CalculateSize(),
            LabelText,
            logger);
        _meter.CreateObservableGauge("parca_forward_queue_bytes", () => _sender.QueuedBytes, "By", "Bytes of profiles waiting to be forwarded.");
        _meter.CreateObservableGauge("parca_forward_queue_profiles", () => _sender.QueuedProfiles, null, "Profiles waiting to be forwarded, including the batch being sent.");
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
        _sender.Enqueue(series);
        return ValueTask.CompletedTask;
    }

    /// <summary>Whether shutdown began (no more profiles are accepted; the queue is being flushed).</summary>
    internal bool Closed => _sender.Closed;

    private Task SendAsync(IReadOnlyList<RawProfileSeries> batch, DateTime deadline, CancellationToken cancellationToken)
    {
        var request = new WriteRawRequest();
        request.Series.AddRange(batch);
        return _client.WriteRawAsync(request, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync;
    }

    private static string LabelText(RawProfileSeries series) =>
        "{" + string.Join(", ", series.Labels.Labels.Select(l => $"{l.Name}=\"{l.Value}\"")) + "}";

    /// <summary>Stops accepting profiles and delivers what is queued, for at most <see cref="ForwarderOptions.ShutdownFlushTimeout"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // registered under two service types, so the container disposes it twice
        }

        await _sender.DisposeAsync();
        _channel.Dispose();
        _meter.Dispose();
    }
}
