using System.Globalization;

namespace Parca.Query.Reports;

/// <summary>
/// What one report may cost: the memory the report's working set may take (the merged tree, the frame graph and the
/// encoded result) and the largest response message the transport sends.
/// </summary>
public sealed record ReportLimits(long MemoryBudgetBytes, int MaxMessageBytes)
{
    // Room for the response's other fields and the transport's framing.
    private const int Headroom = 64 * 1024;

    /// <summary>1 GiB per query and gRPC's 64 MiB message limit (the server's defaults).</summary>
    public static ReportLimits Default { get; } = new(1L << 30, 64 * 1024 * 1024);

    /// <summary>The most bytes a report's own message may take so that the whole response fits the message limit.</summary>
    public int ReportBytes => Math.Max(1, MaxMessageBytes - Headroom);

    /// <summary>The message limit in MiB, as trim reasons name it.</summary>
    public string MessageLimitText => MaxMessageBytes >= 1 << 20 && MaxMessageBytes % (1 << 20) == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{MaxMessageBytes >> 20} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{MaxMessageBytes / 1024.0:0.#} KiB");
}
