using Parca.Storage;

namespace Parca.Query.Engine;

/// <summary>
/// A merged (or single, or diff) profile: result symbols, the call tree with flat values, label groups, totals and
/// the metadata the reports need.
/// </summary>
public sealed class MergeResult
{
    public required ProfileType QueryType { get; init; }
    public required string SampleType { get; set; }
    public required string SampleUnit { get; set; }
    public string PeriodType => QueryType.PeriodType;
    public string PeriodUnit => QueryType.PeriodUnit;
    public long Period { get; set; }
    public long TimeNanos { get; init; }
    public long DurationNanos { get; init; }

    public ResultSymbols Symbols { get; } = new();
    public ResultTree Tree { get; } = new();
    public List<LabelSet> Groups { get; } = [];

    /// <summary>Per group: the profiles' timestamp when grouped by timestamp (flame charts), 0 otherwise.</summary>
    public List<long> GroupTimes { get; } = [];
    public IReadOnlyList<string> GroupBy { get; init; } = [];

    /// <summary>Sum of all selected sample values before filtering (profile B in a diff).</summary>
    public long Total { get; set; }

    /// <summary>Sum of sample values dropped by stack filters.</summary>
    public long Filtered { get; set; }

    /// <summary>A diff: <see cref="ResultTree.Base"/> holds profile A.</summary>
    public bool IsDiff { get; set; }

    /// <summary>Total of profile A (diff only).</summary>
    public long BaseTotal { get; set; }

    /// <summary>Relative diff scales: diff = value × ValueScale − base × BaseScale.</summary>
    public double ValueScale { get; set; } = 1;
    public double BaseScale { get; set; } = 1;

    /// <summary>Label names of the merged series plus pprof sample-label keys present (PROFILE_METADATA).</summary>
    public SortedSet<string> LabelNames { get; } = new(StringComparer.Ordinal);

    /// <summary>Number of profiles merged.</summary>
    public int ProfileCount { get; set; }

    /// <summary>Diff value of a node's flat value (0 when not a diff).</summary>
    public long FlatDiff(int node) => IsDiff ? DiffOf(Tree.Value[node], Tree.Base[node]) : 0;

    /// <summary>
    /// The diff of a value of B against a value of A, rounded once. Sums (cumulative values, per-function totals) are
    /// taken of the exact values and rounded at the end: summing rounded parts showed "-1 ns" where nothing changed.
    /// </summary>
    public long DiffOf(long value, long baseValue) => (long)Math.Round((value * ValueScale) - (baseValue * BaseScale));
}
