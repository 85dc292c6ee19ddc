using System.Diagnostics.Metrics;

namespace Parca.Storage.Buckets;

/// <summary>Instruments of the object storage (exported at /metrics; documented in docs/object-storage.md).</summary>
internal sealed class BucketMetrics
{
    private readonly Counter<long> _uploads;
    private readonly Counter<long> _uploadedBytes;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _readFailures;
    private readonly Counter<long> _compactions;
    private readonly Counter<long> _deleted;
    private long _lastSync;

    public BucketMetrics(ProfileStore store, Meter meter)
    {
        _uploads = meter.CreateCounter<long>("parca_bucket_uploads_total", null, "Blocks uploaded to object storage.");
        _uploadedBytes = meter.CreateCounter<long>("parca_bucket_uploaded_bytes_total", null, "Bytes of block files and metas uploaded to object storage.");
        _failures = meter.CreateCounter<long>("parca_bucket_operation_failures_total", null, "Uploads and listings of object storage that failed (each upload is retried with back-off).");
        _readFailures = meter.CreateCounter<long>("parca_bucket_read_failures_total", null, "Cold-block reads that failed; the query answered without the block and with a warning.");
        _compactions = meter.CreateCounter<long>("parca_bucket_compactions_total", null, "Blocks merged into larger ones by this server while it held the compactor lease.");
        _deleted = meter.CreateCounter<long>("parca_bucket_blocks_deleted_total", null, "Blocks deleted from object storage by reason: retention, compacted (superseded by a merged block), orphan (parts of an upload cut short), abandoned (unfinished multipart uploads, temporaries).");
        meter.CreateObservableGauge("parca_bucket_up", () => store.BucketDown ? 0 : 1, null, "0 while the last upload or listing of object storage failed.");
        meter.CreateObservableGauge("parca_bucket_last_sync_timestamp_seconds", () => Interlocked.Read(ref _lastSync), null, "When the bucket was last listed successfully (Unix seconds).");
    }

    public void Uploaded(long bytes)
    {
        _uploads.Add(1);
        _uploadedBytes.Add(bytes);
    }

    public void Failed() => _failures.Add(1);

    public void ReadFailed() => _readFailures.Add(1);

    public void Compacted() => _compactions.Add(1);

    public void Deleted(string reason, long count = 1) => _deleted.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void Synced(DateTimeOffset now) => Interlocked.Exchange(ref _lastSync, now.ToUnixTimeSeconds());
}
