namespace Parca.Query.Reports;

/// <summary>
/// What one report may cost: the memory the report's working set may take (the merged tree, the frame graph and the
/// encoded result) and the largest response message the transport sends.
/// </summary>
public sealed record ReportLimits(long MemoryBudgetBytes, int MaxMessageBytes)
{
    /// <summary>1 GiB per query and gRPC's 64 MiB message limit (the server's defaults).</summary>
    public static ReportLimits Default { get; } = new(1L << 30, 64 * 1024 * 1024);
}
