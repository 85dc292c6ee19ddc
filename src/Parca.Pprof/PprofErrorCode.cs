namespace Parca.Pprof;

/// <summary>
/// Machine-readable reason a pprof input was refused. <see cref="PprofException.IsLimit"/> tells the RPC layer
/// which gRPC status to answer with: limit codes map to <c>RESOURCE_EXHAUSTED</c>, every other code to
/// <c>INVALID_ARGUMENT</c> (HTTP: 413 and 400).
/// </summary>
public enum PprofErrorCode
{
    /// <summary>The input is empty (zero bytes, or a gzip stream that inflates to nothing).</summary>
    EmptyInput = 1,

    /// <summary>The input starts with the gzip magic but is not a valid gzip stream (or is truncated).</summary>
    MalformedGzip = 2,

    /// <summary>The protobuf wire format is broken: truncated message, bad varint, wrong wire type for a known field.</summary>
    MalformedProtobuf = 3,

    /// <summary>The protobuf is well formed but violates profile.proto or Parca's rules (ids, string indices, value counts).</summary>
    InvalidProfile = 4,

    /// <summary>The compressed input is larger than <see cref="PprofLimits.MaxCompressedBytes"/>.</summary>
    CompressedSizeLimit = 10,

    /// <summary>Inflating the input would exceed <see cref="PprofLimits.MaxDecompressedBytes"/> (checked while inflating).</summary>
    DecompressedSizeLimit = 11,

    /// <summary>A count limit of <see cref="PprofLimits"/> (samples, locations, functions, mappings, strings) is exceeded.</summary>
    CountLimit = 12,

    /// <summary>The process-wide <see cref="DecodeBudget"/> has no room for this profile right now (retry later).</summary>
    DecodeBudgetExhausted = 13,

    /// <summary>Profiles given to a merge have different sample types or period types.</summary>
    IncompatibleProfiles = 20,
}
