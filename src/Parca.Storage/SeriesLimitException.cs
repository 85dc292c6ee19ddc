namespace Parca.Storage;

/// <summary>
/// An append refused because it would take the head past <see cref="StorageOptions.MaxActiveSeries"/>: the series
/// index and its postings are what grows with cardinality, so new series stop while known ones keep being written.
/// A kind of <see cref="StorageBusyException"/> (RESOURCE_EXHAUSTED for every ingest path). The message names the
/// server's flag and goes to clients.
/// </summary>
public sealed class SeriesLimitException : StorageBusyException
{
    public SeriesLimitException(int series, int added, int limit)
        : base($"active series limit reached: the head holds {series} series and this profile would add {added} (limit {limit}, --ingest-max-active-series); writes to existing series continue")
    {
    }

    public SeriesLimitException()
    {
    }

    public SeriesLimitException(string message)
        : base(message)
    {
    }

    public SeriesLimitException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
