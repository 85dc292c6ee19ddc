namespace Parca.Storage.Buckets;

/// <summary>
/// Which bucket blocks the compactor merges next. Levels have fixed, epoch-aligned time windows, multiples of the
/// block duration: level 1 twelve (a day at the default 2 h), level 2 eighty-four (a week). A window is merged only
/// once it is complete, i.e. its end is two block durations in the past (no new level-0 block can still land in it;
/// so a day is rewritten once, not at every new block, as Prometheus and Thanos compact only complete ranges). The
/// highest complete level wins, so old data goes to its final level in one rewrite. A block that lands later in a
/// merged window (an ingester that was down) is merged again with the window's block: the result holds a superset of
/// inputs, which is what makes readers prefer it (see ProfileStore.VisibleBlocks). Blocks at the size bound are
/// final, and a group stops before the bound, so one merge holds a bounded amount in memory.
/// </summary>
internal static class BucketCompactionPlan
{
    /// <summary>Window of level 1, 2, ... in block durations.</summary>
    public static readonly int[] LevelWindows = [12, 84];

    /// <summary>
    /// The next group to merge (oldest window first, at most <paramref name="maxInputs"/> blocks and
    /// <paramref name="maxBytes"/> bytes of part files) and the level of the result; an empty list when there is none.
    /// </summary>
    public static List<BucketBlockMeta> Next(IReadOnlyCollection<BucketBlockMeta> candidates, TimeSpan blockDuration, DateTimeOffset now, long maxBytes, int maxInputs, out int level)
    {
        var duration = blockDuration.Ticks * 100; // nanoseconds
        var settled = (now.ToUnixTimeMilliseconds() * 1_000_000) - (2 * duration);
        for (level = LevelWindows.Length; level >= 1; level--)
        {
            var window = LevelWindows[level - 1] * duration;
            var byWindow = new SortedDictionary<long, List<BucketBlockMeta>>();
            foreach (var m in candidates)
            {
                if (m.Level > level || m.MaxTimeNanos >= settled || Bytes(m) >= maxBytes)
                {
                    continue;
                }

                var key = FloorDiv(m.MinTimeNanos, window);
                if ((key + 1) * window > settled)
                {
                    continue; // the window is still open
                }

                if (!byWindow.TryGetValue(key, out var list))
                {
                    byWindow[key] = list = [];
                }

                list.Add(m);
            }

            foreach (var (_, blocks) in byWindow)
            {
                if (blocks.Count >= 2 && Pack(blocks, maxBytes, maxInputs) is { Count: >= 2 } group)
                {
                    return group;
                }
            }
        }

        level = 0;
        return [];
    }

    public static long Bytes(BucketBlockMeta meta)
    {
        long bytes = 0;
        foreach (var p in meta.Parts)
        {
            bytes += p.Size;
        }

        return bytes;
    }

    /// <summary>Consecutive blocks (by time) within the bounds, two at least; a block that fits with no neighbour starts a new try.</summary>
    private static List<BucketBlockMeta> Pack(List<BucketBlockMeta> blocks, long maxBytes, int maxInputs)
    {
        blocks.Sort((a, b) => a.MinTimeNanos != b.MinTimeNanos ? a.MinTimeNanos.CompareTo(b.MinTimeNanos) : string.CompareOrdinal(a.Id, b.Id));
        var group = new List<BucketBlockMeta>();
        long bytes = 0;
        foreach (var m in blocks)
        {
            var b = Bytes(m);
            if (group.Count == maxInputs || bytes + b > maxBytes)
            {
                if (group.Count >= 2)
                {
                    return group;
                }

                group.Clear();
                bytes = 0;
            }

            group.Add(m);
            bytes += b;
        }

        return group;
    }

    private static long FloorDiv(long a, long b) => (a / b) - (a % b < 0 ? 1 : 0);
}
