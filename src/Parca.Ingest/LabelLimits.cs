namespace Parca.Ingest;

/// <summary>
/// The label limits of <see cref="ServerLimits"/> with the messages every ingest path gives (WriteRaw, <c>/ingest</c>,
/// Arrow and OTLP), so a refused request reads the same whichever protocol sent it.
/// </summary>
internal static class LabelLimits
{
    /// <summary><paramref name="count"/> labels of one series, <c>__name__</c> included.</summary>
    public static void CheckCount(ServerLimits limits, int count, string where)
    {
        if (count > limits.MaxLabelNamesPerSeries)
        {
            throw new IngestError($"{where}: {count} labels, more than the limit of {limits.MaxLabelNamesPerSeries} ({ServerLimits.Flag(nameof(ServerLimits.MaxLabelNamesPerSeries))})", isLimit: true);
        }
    }

    public static void CheckLengths(ServerLimits limits, string key, string value, string where)
    {
        if (key.Length > limits.MaxLabelNameLength)
        {
            throw new IngestError($"{where}: label name of {key.Length} characters, longer than the limit of {limits.MaxLabelNameLength} ({ServerLimits.Flag(nameof(ServerLimits.MaxLabelNameLength))})", isLimit: true);
        }

        if (value.Length > limits.MaxLabelValueLength)
        {
            throw new IngestError($"{where}: value of label '{key}' has {value.Length} characters, longer than the limit of {limits.MaxLabelValueLength} ({ServerLimits.Flag(nameof(ServerLimits.MaxLabelValueLength))})", isLimit: true);
        }
    }

    public static void CheckSeriesCount(ServerLimits limits, int count)
    {
        if (count > limits.MaxSeriesPerRequest)
        {
            throw new IngestError($"{count} series in one request, more than the limit of {limits.MaxSeriesPerRequest} ({ServerLimits.Flag(nameof(ServerLimits.MaxSeriesPerRequest))})", isLimit: true);
        }
    }
}
