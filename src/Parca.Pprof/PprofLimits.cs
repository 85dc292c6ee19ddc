namespace Parca.Pprof;

/// <summary>
/// Upper bounds applied while reading a profile, so a hostile or broken upload is refused early instead of
/// exhausting memory. Sizes are checked while inflating (a gzip bomb stops as soon as it crosses
/// <see cref="MaxDecompressedBytes"/>); counts are checked while decoding.
/// </summary>
public sealed record PprofLimits
{
    /// <summary>Defaults: 64 MiB compressed, 512 MiB decompressed, 10 M samples/locations/functions/strings, 1 M mappings.</summary>
    public static PprofLimits Default { get; } = new();

    /// <summary>Largest accepted input as sent (gzip bytes, or raw protobuf bytes when not compressed). Default 64 MiB.</summary>
    public long MaxCompressedBytes { get; init; } = 64L << 20;

    /// <summary>Largest accepted protobuf after inflating. Default 512 MiB.</summary>
    public long MaxDecompressedBytes { get; init; } = 512L << 20;

    /// <summary>Most samples in one profile. Default 10,000,000.</summary>
    public int MaxSamples { get; init; } = 10_000_000;

    /// <summary>Most locations in one profile. Default 10,000,000.</summary>
    public int MaxLocations { get; init; } = 10_000_000;

    /// <summary>Most functions in one profile. Default 10,000,000.</summary>
    public int MaxFunctions { get; init; } = 10_000_000;

    /// <summary>Most mappings in one profile. Default 1,000,000.</summary>
    public int MaxMappings { get; init; } = 1_000_000;

    /// <summary>Most string table entries in one profile. Default 10,000,000.</summary>
    public int MaxStrings { get; init; } = 10_000_000;

    /// <summary>Most location ids in one sample (the stack depth). Default unlimited.</summary>
    public int MaxStackDepth { get; init; } = int.MaxValue;
}
