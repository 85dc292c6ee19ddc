namespace Parca.Pprof;

/// <summary>How strictly to read a profile.</summary>
public sealed record PprofReadOptions
{
    /// <summary>Spec rules (ids may be any unique non-zero numbers) with <see cref="PprofLimits.Default"/>.</summary>
    public static PprofReadOptions Default { get; } = new();

    /// <summary>
    /// Parca's <c>WriteRaw</c> rules on top of the spec: mapping, function and location ids must equal their
    /// index + 1. Use this to accept exactly what Parca accepts.
    /// </summary>
    public static PprofReadOptions ParcaCompatible { get; } = new() { RequireSequentialIds = true };

    /// <summary>Limits applied while reading.</summary>
    public PprofLimits Limits { get; init; } = PprofLimits.Default;

    /// <summary>When true, the id of mapping[i], function[i] and location[i] must be i + 1 (Parca's rule).</summary>
    public bool RequireSequentialIds { get; init; }

    /// <summary>
    /// When set, the inflated (or copied) protobuf of each decode is reserved from this budget before it is
    /// allocated, and stays reserved until <see cref="FlatProfile.ReleaseBudget"/>, the next decode or dispose.
    /// </summary>
    public DecodeBudget? Budget { get; init; }
}
