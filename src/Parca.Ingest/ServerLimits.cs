namespace Parca.Ingest;

/// <summary>
/// Resource limits of the server, each with its flag and a default in the spirit of Prometheus and Pyroscope. Every
/// refusal names the limit's flag (<see cref="Flag"/>) so an operator knows what to raise. Most of them bound ingest,
/// which scraping shares, so they live here below both; the server's options hold one instance (<c>--ingest-*</c>,
/// <c>--query-max-groups</c>, <c>--max-agents</c>).
/// </summary>
public sealed class ServerLimits
{
    /// <summary>Inflated pprof bytes of one write request (all its profiles); 0 means <c>--grpc-max-message-size</c>.</summary>
    public long IngestMaxDecompressedBytes { get; set; }

    /// <summary>Inflated pprof bytes held by all requests and scrapes at once.</summary>
    public long IngestMaxInflightBytes { get; set; } = 256L << 20;

    /// <summary>Labels of one series, <c>__name__</c> included (Pyroscope: 30; agents with Kubernetes labels send more).</summary>
    public int MaxLabelNamesPerSeries { get; set; } = 64;

    /// <summary>Characters of a label name (Pyroscope's default).</summary>
    public int MaxLabelNameLength { get; set; } = 1024;

    /// <summary>Characters of a label value (Pyroscope's default).</summary>
    public int MaxLabelValueLength { get; set; } = 2048;

    /// <summary>Series in the storage head at once (the server's active series; 0: no limit). New series past it are refused.</summary>
    public int MaxActiveSeries { get; set; } = 500_000;

    /// <summary>Series in one write request.</summary>
    public int MaxSeriesPerRequest { get; set; } = 10_000;

    /// <summary>Samples in one profile.</summary>
    public int MaxProfileSamples { get; set; } = 1_000_000;

    /// <summary>Locations, functions and strings in one profile (each).</summary>
    public int MaxProfileSymbols { get; set; } = 1_000_000;

    /// <summary>Frames of one stack (Pyroscope truncates at 1000; a refused profile names the sample instead).</summary>
    public int MaxStackDepth { get; set; } = 1024;

    /// <summary>Distinct groups a query's group-by (<c>sum_by</c>) may produce.</summary>
    public int QueryMaxGroups { get; set; } = 10_000;

    /// <summary>Agents remembered by the agents registry (<c>/api/agents</c>); the least recently seen is forgotten first.</summary>
    public int MaxAgents { get; set; } = 10_000;

    /// <summary>The command-line flag that sets <paramref name="property"/>.</summary>
    public static string Flag(string property) => property switch
    {
        nameof(IngestMaxDecompressedBytes) => "--ingest-max-decompressed-bytes",
        nameof(IngestMaxInflightBytes) => "--ingest-max-inflight-bytes",
        nameof(MaxLabelNamesPerSeries) => "--ingest-max-label-names-per-series",
        nameof(MaxLabelNameLength) => "--ingest-max-label-name-length",
        nameof(MaxLabelValueLength) => "--ingest-max-label-value-length",
        nameof(MaxSeriesPerRequest) => "--ingest-max-series-per-request",
        nameof(MaxActiveSeries) => "--ingest-max-active-series",
        nameof(MaxProfileSamples) => "--ingest-max-profile-samples",
        nameof(MaxProfileSymbols) => "--ingest-max-profile-symbols",
        nameof(MaxStackDepth) => "--ingest-max-stack-depth",
        nameof(QueryMaxGroups) => "--query-max-groups",
        nameof(MaxAgents) => "--max-agents",
        _ => throw new ArgumentOutOfRangeException(nameof(property)),
    };

    /// <summary>The per-request inflated budget after applying the default (the message limit).</summary>
    internal long EffectiveDecompressedBytes(int maxMessageSize) =>
        IngestMaxDecompressedBytes > 0 ? IngestMaxDecompressedBytes : maxMessageSize;

    internal void Validate(List<string> problems, int maxMessageSize)
    {
        void Positive(long value, string property)
        {
            if (value <= 0)
            {
                problems.Add($"{Flag(property)}: must be positive");
            }
        }

        if (IngestMaxDecompressedBytes < 0)
        {
            problems.Add($"{Flag(nameof(IngestMaxDecompressedBytes))}: must not be negative (0 uses --grpc-max-message-size)");
        }

        Positive(IngestMaxInflightBytes, nameof(IngestMaxInflightBytes));
        if (MaxActiveSeries < 0)
        {
            problems.Add($"{Flag(nameof(MaxActiveSeries))}: must not be negative (0: no limit)");
        }

        if (IngestMaxInflightBytes > 0 && EffectiveDecompressedBytes(maxMessageSize) > IngestMaxInflightBytes)
        {
            problems.Add($"{Flag(nameof(IngestMaxInflightBytes))}: {IngestMaxInflightBytes} is smaller than one request's budget ({EffectiveDecompressedBytes(maxMessageSize)}, {Flag(nameof(IngestMaxDecompressedBytes))}), so the largest accepted request could never be decoded");
        }

        Positive(MaxLabelNamesPerSeries, nameof(MaxLabelNamesPerSeries));
        Positive(MaxLabelNameLength, nameof(MaxLabelNameLength));
        Positive(MaxLabelValueLength, nameof(MaxLabelValueLength));
        Positive(MaxSeriesPerRequest, nameof(MaxSeriesPerRequest));
        Positive(MaxProfileSamples, nameof(MaxProfileSamples));
        Positive(MaxProfileSymbols, nameof(MaxProfileSymbols));
        Positive(MaxStackDepth, nameof(MaxStackDepth));
        Positive(QueryMaxGroups, nameof(QueryMaxGroups));
        Positive(MaxAgents, nameof(MaxAgents));
    }
}
