using Parca.Pprof;

namespace Parca.Ingest;

/// <summary>
/// The ingest side of <see cref="ServerLimits"/> in the form the decode paths use: one <see cref="DecodeBudget"/> for
/// the whole server (gRPC, <c>/ingest</c> and scraping share it) and the pprof limits of one profile.
/// </summary>
internal sealed class IngestLimits
{
    public IngestLimits(ServerLimits limits, int maxMessageSize)
    {
        Limits = limits;
        MaxMessageSize = maxMessageSize;
        RequestDecompressedBytes = limits.EffectiveDecompressedBytes(maxMessageSize);
        Budget = new DecodeBudget(limits.IngestMaxInflightBytes);
        ReadOptions = PprofReadOptions.ParcaCompatible with
        {
            Budget = Budget,
            Limits = PprofLimits.Default with
            {
                MaxCompressedBytes = maxMessageSize,
                MaxDecompressedBytes = RequestDecompressedBytes,
                MaxSamples = limits.MaxProfileSamples,
                MaxLocations = limits.MaxProfileSymbols,
                MaxFunctions = limits.MaxProfileSymbols,
                MaxStrings = limits.MaxProfileSymbols,
                MaxStackDepth = limits.MaxStackDepth,
            },
        };
    }

    /// <summary>The default of <c>--grpc-max-message-size</c> (Parca's), the largest message and <c>/ingest</c> body.</summary>
    public const int DefaultMaxMessageSize = 64 * 1024 * 1024;

    /// <summary>Defaults of every flag (tests and benchmarks that build a writer directly).</summary>
    public static IngestLimits Default { get; } = new(new ServerLimits(), DefaultMaxMessageSize);

    public ServerLimits Limits { get; }

    /// <summary>Largest body accepted by <c>/ingest</c> (the same as a gRPC message).</summary>
    public int MaxMessageSize { get; }

    /// <summary>Inflated bytes one request may decode in total.</summary>
    public long RequestDecompressedBytes { get; }

    public DecodeBudget Budget { get; }

    /// <summary>Parca's WriteRaw rules with the limits above; a request narrows MaxDecompressedBytes as it goes.</summary>
    public PprofReadOptions ReadOptions { get; }

    /// <summary>The flag behind a refused pprof, for the error message.</summary>
    public static string FlagFor(PprofErrorCode code, string message) => code switch
    {
        PprofErrorCode.CompressedSizeLimit => "--grpc-max-message-size",
        PprofErrorCode.DecompressedSizeLimit => ServerLimits.Flag(nameof(ServerLimits.IngestMaxDecompressedBytes)),
        PprofErrorCode.DecodeBudgetExhausted => ServerLimits.Flag(nameof(ServerLimits.IngestMaxInflightBytes)),
        PprofErrorCode.CountLimit when message.Contains("stack depth", StringComparison.Ordinal) => ServerLimits.Flag(nameof(ServerLimits.MaxStackDepth)),
        PprofErrorCode.CountLimit when message.StartsWith("sample:", StringComparison.Ordinal) => ServerLimits.Flag(nameof(ServerLimits.MaxProfileSamples)),
        PprofErrorCode.CountLimit when message.StartsWith("mapping:", StringComparison.Ordinal) => "(mappings: fixed at " + PprofLimits.Default.MaxMappings + ")",
        PprofErrorCode.CountLimit => ServerLimits.Flag(nameof(ServerLimits.MaxProfileSymbols)),
        _ => "",
    };

    /// <summary>The pprof error as the client sees it: the message plus, for a limit, the flag that sets it.</summary>
    public static string Describe(PprofException e)
    {
        var flag = e.IsLimit ? FlagFor(e.Code, e.Message) : "";
        return flag.Length == 0 ? e.Message : e.Message + " (" + flag + ")";
    }
}
