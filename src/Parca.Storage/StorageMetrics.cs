using System.Diagnostics.Metrics;

namespace Parca.Storage;

/// <summary>
/// The store's instruments on the <c>Parca.Storage</c> meter (exported at /metrics by the server): failed writes by
/// reason, failed compactions, refused appends, and gauges for the disk-full state and waiting compactions.
/// </summary>
internal sealed class StorageMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _writeFailures;
    private readonly Counter<long> _compactionFailures;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _seriesRefused;

    public StorageMetrics(ProfileStore store, IMeterFactory? factory)
    {
        // The server's factory scopes the meter to it (its /metrics exports only its own); alone, the store owns one.
        _ownsMeter = factory is null;
        _meter = factory?.Create("Parca.Storage") ?? new Meter("Parca.Storage");
        _writeFailures = _meter.CreateCounter<long>("parca_storage_write_failures_total", null, "Failed writes to the storage path, by reason (disk_full, io).");
        _compactionFailures = _meter.CreateCounter<long>("parca_storage_compaction_failures_total", null, "Compactions of a sealed head into blocks that failed (each is retried with back-off).");
        _refused = _meter.CreateCounter<long>("parca_storage_refused_appends_total", null, "Appends refused because the head reached --storage-head-memory-limit.");
        _seriesRefused = _meter.CreateCounter<long>("parca_storage_series_limit_refusals_total", null, "Appends refused because they would create series past --ingest-max-active-series.");
        _meter.CreateObservableGauge("parca_storage_active_series", () => store.ActiveSeries, null, "Series in the open head (bounded by --ingest-max-active-series).");
        _meter.CreateObservableGauge("parca_storage_disk_full", () => store.DiskFull ? 1 : 0, null, "1 while the last write to the storage path failed for lack of space.");
        _meter.CreateObservableGauge("parca_storage_pending_compactions", () => store.PendingCompactions, null, "Sealed heads waiting to be written as blocks.");
    }

    internal Meter Meter => _meter;

    public void WriteFailed(bool diskFull) => _writeFailures.Add(1, new KeyValuePair<string, object?>("reason", diskFull ? "disk_full" : "io"));

    public void CompactionFailed() => _compactionFailures.Add(1);

    public void Refused() => _refused.Add(1);

    public void SeriesRefused() => _seriesRefused.Add(1);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
