using Parca.Storage.Blocks;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// Clock skew: profiles hours apart share an open head without sealing it (one head, not a block per write), and
/// compaction cuts them into blocks by time so retention drops the old ones on time.
/// </summary>
public sealed class TimeWindowTests
{
    private static readonly LabelSet s_ahead = LabelSet.From(("agent", "ahead"));
    private static readonly LabelSet s_behind = LabelSet.From(("agent", "behind"));

    /// <summary>A clock the test moves by hand: retention is about hours, the test must not wait for them.</summary>
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static long Nanos(DateTimeOffset t) => t.ToUnixTimeMilliseconds() * 1_000_000;

    [Fact]
    public async Task Alternating_skewed_agents_fill_one_head_and_compact_into_one_block_per_time_range()
    {
        var now = DateTimeOffset.UtcNow;
        using var store = new ProfileStore(new StorageOptions { BlockDuration = TimeSpan.FromHours(1) });
        for (var i = 0; i < 400; i++)
        {
            var (labels, time) = i % 2 == 0 ? (s_ahead, now.AddMinutes(5)) : (s_behind, now.AddHours(-3));
            store.Append(Cpu, labels, CpuProfile(Nanos(time) + i, ($"main;f{i % 3}", 1)));
        }

        Assert.Single(store.Partitions); // out of order within the window: the head was never sealed
        await store.FlushAsync();
        var blocks = store.Partitions.OfType<BlockPartition>().ToArray();
        Assert.Equal(2, blocks.Length);
        Assert.Equal(400, blocks.Sum(b => b.View().RowCount) / 2); // two sample types per profile
        Assert.All(blocks, b => Assert.True(b.MaxTimeNanos - b.MinTimeNanos < TimeSpan.FromHours(2).Ticks * 100));
    }

    [Fact]
    public async Task An_old_profile_does_not_outlive_retention_because_a_newer_one_shared_its_head()
    {
        var t0 = DateTimeOffset.UtcNow;
        var clock = new ManualClock(t0);
        var dir = Directory.CreateTempSubdirectory("parca-time-").FullName;
        try
        {
            using var store = new ProfileStore(new StorageOptions { Path = dir, Time = clock, Retention = TimeSpan.FromHours(2), BlockDuration = TimeSpan.FromMinutes(30) });
            store.Append(Cpu, s_behind, CpuProfile(Nanos(t0.AddMinutes(-110)), ("main;old", 1)));
            store.Append(Cpu, s_ahead, CpuProfile(Nanos(t0), ("main;fresh", 2)));
            await store.FlushAsync();
            Assert.Equal(2, store.Partitions.Count(p => p is BlockPartition));

            clock.Now = t0.AddMinutes(15); // the old profile is now past the 2 h retention, the fresh one is not
            Assert.Equal(1, store.ApplyRetention());
            var block = Assert.Single(store.Partitions.OfType<BlockPartition>());
            var view = block.View();
            var ahead = Enumerable.Range(0, view.Series.SeriesCount).First(i => view.Series.GetSeries(i).Labels.Equals(s_ahead));
            Assert.Equal(new Dictionary<string, long> { ["main;fresh"] = 2 }, ReadStacks(view, ahead));
            Assert.Equal(1, view.RowCount / 2); // the old profile is gone with its block
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "blocks")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_head_is_sealed_after_the_block_duration_of_server_time()
    {
        var t0 = DateTimeOffset.UtcNow;
        var clock = new ManualClock(t0);
        using var store = new ProfileStore(new StorageOptions { Time = clock, BlockDuration = TimeSpan.FromMinutes(30), Retention = TimeSpan.Zero });
        store.Append(Cpu, s_ahead, CpuProfile(Nanos(t0), ("main;a", 1)));
        clock.Now = t0.AddMinutes(31);
        store.Append(Cpu, s_ahead, CpuProfile(Nanos(t0), ("main;b", 1))); // the same profile time: sealing is by server time
        Assert.Equal(2, store.Partitions.Count);
    }

    [Fact]
    public void The_future_cutoff_follows_the_server_clock()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch.AddYears(50));
        using var store = new ProfileStore(new StorageOptions { Time = clock, MaxFutureSkew = TimeSpan.FromMinutes(10) });
        Assert.Equal(Nanos(clock.Now.AddMinutes(10)), store.FutureCutoffNanos);
        using var unlimited = new ProfileStore(new StorageOptions { Time = clock, MaxFutureSkew = TimeSpan.Zero });
        Assert.Equal(long.MaxValue, unlimited.FutureCutoffNanos);
    }
}
