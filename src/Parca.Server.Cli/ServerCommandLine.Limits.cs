using System.CommandLine;
using Parca.Ingest;
using static Parca.Hosting.CommandLine.FlagOptions;

namespace Parca.Server.Cli;

/// <summary>The resource-limit flags (ours: Parca has none), mapped onto <see cref="ServerLimits"/>.</summary>
internal static partial class ServerCommandLine
{
    private static readonly ServerLimits s_limitDefaults = new();

    private static readonly Option<long> s_ingestMaxDecompressedBytes = Number(ServerLimits.Flag(nameof(ServerLimits.IngestMaxDecompressedBytes)), "Most inflated pprof bytes in one write request (all its profiles together); 0 uses --grpc-max-message-size.", s_limitDefaults.IngestMaxDecompressedBytes);
    private static readonly Option<long> s_ingestMaxInflightBytes = Number(ServerLimits.Flag(nameof(ServerLimits.IngestMaxInflightBytes)), "Most inflated pprof bytes held by all writes and scrapes at once; more are refused with RESOURCE_EXHAUSTED (retry later).", s_limitDefaults.IngestMaxInflightBytes);
    private static readonly Option<int> s_maxLabelNamesPerSeries = Number(ServerLimits.Flag(nameof(ServerLimits.MaxLabelNamesPerSeries)), "Most labels of one series, __name__ included.", s_limitDefaults.MaxLabelNamesPerSeries);
    private static readonly Option<int> s_maxLabelNameLength = Number(ServerLimits.Flag(nameof(ServerLimits.MaxLabelNameLength)), "Longest label name, in characters.", s_limitDefaults.MaxLabelNameLength);
    private static readonly Option<int> s_maxLabelValueLength = Number(ServerLimits.Flag(nameof(ServerLimits.MaxLabelValueLength)), "Longest label value, in characters.", s_limitDefaults.MaxLabelValueLength);
    private static readonly Option<int> s_maxSeriesPerRequest = Number(ServerLimits.Flag(nameof(ServerLimits.MaxSeriesPerRequest)), "Most series in one write request.", s_limitDefaults.MaxSeriesPerRequest);
    private static readonly Option<int> s_maxActiveSeries = Number(ServerLimits.Flag(nameof(ServerLimits.MaxActiveSeries)), "Most series in the storage head at once (the server's active series); writes creating more are refused with RESOURCE_EXHAUSTED. 0: no limit.", s_limitDefaults.MaxActiveSeries);
    private static readonly Option<int> s_maxProfileSamples = Number(ServerLimits.Flag(nameof(ServerLimits.MaxProfileSamples)), "Most samples in one profile.", s_limitDefaults.MaxProfileSamples);
    private static readonly Option<int> s_maxProfileSymbols = Number(ServerLimits.Flag(nameof(ServerLimits.MaxProfileSymbols)), "Most locations, functions and strings (each) in one profile.", s_limitDefaults.MaxProfileSymbols);
    private static readonly Option<int> s_maxStackDepth = Number(ServerLimits.Flag(nameof(ServerLimits.MaxStackDepth)), "Most frames in one stack of a profile.", s_limitDefaults.MaxStackDepth);
    private static readonly Option<int> s_queryMaxGroups = Number(ServerLimits.Flag(nameof(ServerLimits.QueryMaxGroups)), "Most groups a query's group-by may produce.", s_limitDefaults.QueryMaxGroups);
    private static readonly Option<int> s_maxAgents = Number(ServerLimits.Flag(nameof(ServerLimits.MaxAgents)), "Most agents remembered for /api/agents (least recently seen forgotten first).", s_limitDefaults.MaxAgents);

    private static readonly Option<string?> s_httpAllowedHosts = OptionalText("--http-allowed-hosts", "Host header values served (comma separated names or name:port); others get 421. Empty serves any host.");

    private static readonly Option<string?> s_authWriteTokenFile = OptionalText("--auth-write-token-file", "File of bearer tokens (one per line, re-read when it changes) that writes (WriteRaw, /ingest, debuginfo) must carry. Off when unset.");
    private static readonly Option<string?> s_authReadTokenFile = OptionalText("--auth-read-token-file", "File of bearer tokens that queries, /metrics and /debug/pprof must carry. Off when unset.");

    private static Option[] LimitOptions() =>
    [
        s_httpAllowedHosts, s_authWriteTokenFile, s_authReadTokenFile,
        s_ingestMaxDecompressedBytes, s_ingestMaxInflightBytes, s_maxLabelNamesPerSeries, s_maxLabelNameLength,
        s_maxLabelValueLength, s_maxSeriesPerRequest, s_maxActiveSeries, s_maxProfileSamples, s_maxProfileSymbols, s_maxStackDepth,
        s_queryMaxGroups, s_maxAgents,
    ];

    private static ServerLimits BindLimits(ParseResult r) => new()
    {
        IngestMaxDecompressedBytes = r.GetValue(s_ingestMaxDecompressedBytes),
        IngestMaxInflightBytes = r.GetValue(s_ingestMaxInflightBytes),
        MaxLabelNamesPerSeries = r.GetValue(s_maxLabelNamesPerSeries),
        MaxLabelNameLength = r.GetValue(s_maxLabelNameLength),
        MaxLabelValueLength = r.GetValue(s_maxLabelValueLength),
        MaxSeriesPerRequest = r.GetValue(s_maxSeriesPerRequest),
        MaxActiveSeries = r.GetValue(s_maxActiveSeries),
        MaxProfileSamples = r.GetValue(s_maxProfileSamples),
        MaxProfileSymbols = r.GetValue(s_maxProfileSymbols),
        MaxStackDepth = r.GetValue(s_maxStackDepth),
        QueryMaxGroups = r.GetValue(s_queryMaxGroups),
        MaxAgents = r.GetValue(s_maxAgents),
    };
}
