using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// One report request over one merged result: the frame graph and the per-function table are built at most once
/// (in <see cref="ReportData"/>, which may outlive the request in a cache) and shared by the report types that need
/// them, and every size that grows with the result is checked against the memory budget before it is built.
/// </summary>
public sealed class ReportContext(ReportData data, float trimThresholdPercent, ReportLimits limits)
{
    // Working-set bytes per element, measured on the 425k- and 1M-node profiles of bench/README.md (arrays, the
    // sibling dictionary and list growth): what the budget check charges before building.
    internal const long BytesPerTreeNode = 48;
    internal const long BytesPerGraphNode = 112;
    internal const long BytesPerArrowRow = 96;

    public ReportContext(MergeResult result, float trimThresholdPercent, ReportLimits limits)
        : this(new ReportData(result), trimThresholdPercent, limits)
    {
    }

    public ReportData Data { get; } = data;

    public MergeResult Result => Data.Result;

    /// <summary>Requested node trim threshold in percent of the total (0 = none).</summary>
    public float TrimThreshold { get; } = trimThresholdPercent;

    public ReportLimits Limits { get; } = limits;

    /// <summary>The file a SOURCE report is about (null for other reports).</summary>
    public Types.SourceInput? Source { get; init; }

    /// <summary>The untrimmed frame graph (trimming only selects which nodes a drawing report encodes).</summary>
    public FlameGraph Graph => Data.Graph(this);

    /// <summary>Per-function totals from the untrimmed merged tree: tables and call graphs never lose trimmed values.</summary>
    public TopTable Table => Data.Table(this);

    /// <summary>The table, for a report that reads its caller/callee edges too (built alongside when new).</summary>
    public TopTable TableWithEdges => Data.Table(this, edges: true);

    /// <summary>Throws ResourceExhausted when <paramref name="bytes"/> of working memory would exceed the budget.</summary>
    public void Charge(long bytes, string what)
    {
        if (bytes > Limits.MemoryBudgetBytes)
        {
            throw new QueryException(QueryErrorKind.ResourceExhausted,
                $"{what} needs about {Mib(bytes)} MiB, over the per-query memory budget of {Mib(Limits.MemoryBudgetBytes)} MiB " +
                "(--query-memory-budget): narrow the query (time range, labels, filters) or raise the budget");
        }
    }

    private static long Mib(long bytes) => (bytes + (1 << 20) - 1) >> 20;
}
