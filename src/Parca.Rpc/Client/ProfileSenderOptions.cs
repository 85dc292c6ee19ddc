namespace Parca.Rpc.Client;

/// <summary>Bounds, pacing and observers of a <see cref="ProfileSender{T}"/>.</summary>
public sealed class ProfileSenderOptions
{
    /// <summary>Names the store in log lines (the flag that set it, e.g. <c>--store-address</c>).</summary>
    public string Destination { get; init; } = "";

    /// <summary>At most this many profiles wait (besides the batch being sent).</summary>
    public int MaxQueuedProfiles { get; init; } = 10_000;

    /// <summary>At most this many bytes of profiles wait (besides the batch being sent).</summary>
    public long MaxQueuedBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>A batch holds at least one profile and at most this many bytes.</summary>
    public long MaxBatchBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// A batch holds at most one profile per series (as the sender describes it): the next profile of a series already
    /// in the batch starts the next batch, sent right after. For stores that merge one call's rows of a series into one
    /// profile stamped with the earliest time (Arrow ingest: per series and 10 s bucket), where two windows of a series
    /// in one call would put the later window's samples at the earlier window's time.
    /// </summary>
    public bool OneProfilePerSeries { get; init; }

    /// <summary>Zero: send as soon as something is queued. Otherwise one batch round per interval.</summary>
    public TimeSpan FlushInterval { get; init; }

    /// <summary>The deadline of each call.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The first wait after a transient failure; it doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>At shutdown, how long queued profiles may still be delivered before they are given up.</summary>
    public TimeSpan ShutdownFlushTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Called with each count as it happens (for <c>System.Diagnostics.Metrics</c> counters).</summary>
    public Action<long>? OnSent { get; init; }

    public Action<long>? OnDropped { get; init; }

    public Action<long>? OnRejected { get; init; }

    public Action<long>? OnFailure { get; init; }
}
