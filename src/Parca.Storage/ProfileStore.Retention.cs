using Parca.Storage.Blocks;

namespace Parca.Storage;

/// <summary>The time window profiles are accepted in, and retention.</summary>
public sealed partial class ProfileStore
{
    /// <summary>How long profiles are kept (zero: forever).</summary>
    public TimeSpan Retention => _options.Retention;

    /// <summary>How far ahead of the server's clock a profile may be (zero: no limit).</summary>
    public TimeSpan MaxFutureSkew => _options.MaxFutureSkew;

    /// <summary>
    /// Profiles older than this (Unix nanoseconds) fall outside the retention and would be deleted with the first block
    /// they land in; <see cref="long.MinValue"/> when retention is off.
    /// </summary>
    public long RetentionCutoffNanos => _options.Retention <= TimeSpan.Zero
        ? long.MinValue
        : (_options.Time.GetUtcNow() - _options.Retention).ToUnixTimeMilliseconds() * 1_000_000;

    /// <summary>Profiles newer than this (Unix nanoseconds) are too far in the future; <see cref="long.MaxValue"/> without a limit.</summary>
    public long FutureCutoffNanos => _options.MaxFutureSkew <= TimeSpan.Zero
        ? long.MaxValue
        : (_options.Time.GetUtcNow() + _options.MaxFutureSkew).ToUnixTimeMilliseconds() * 1_000_000;

    /// <summary>Deletes blocks whose newest profile is older than the retention; returns how many were deleted.</summary>
    public int ApplyRetention()
    {
        if (_options.Retention <= TimeSpan.Zero)
        {
            return 0;
        }

        var cutoff = RetentionCutoffNanos;
        List<BlockPartition> expired = [];
        lock (_rotateLock)
        {
            var keep = new List<Partition>(_partitions.Length);
            foreach (var p in _partitions)
            {
                if (p is BlockPartition b && b.MaxTimeNanos < cutoff)
                {
                    expired.Add(b);
                }
                else if (p is Buckets.RemoteBlockPartition r && r.MaxTimeNanos < cutoff)
                {
                    continue; // the bucket's copy is deleted by the compactor (ProfileStore.BucketMaintenance.cs)
                }
                else
                {
                    keep.Add(p);
                }
            }

            if (keep.Count == _partitions.Length)
            {
                return 0;
            }

            Volatile.Write(ref _partitions, [.. keep]);
        }

        foreach (var b in expired)
        {
            if (b.FilePath is not null)
            {
                try
                {
                    File.Delete(b.FilePath);
                }
                catch (IOException e)
                {
                    _options.Log?.Invoke($"storage: could not delete expired block {b.FilePath}: {e.Message}");
                }
            }
        }

        return expired.Count;
    }
}
