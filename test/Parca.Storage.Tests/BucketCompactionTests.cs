using Parca.Storage.Blocks;
using Parca.Storage.Buckets;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// Bucket compaction over many windows in a row (FILESYSTEM bucket, the same code runs on S3): with a block duration
/// of 1 s, level 1 merges 12 s windows and level 2 84 s windows, once a window is complete (its end 2 s past). The
/// compactor's clock is frozen at a chosen moment (its timers run for real), so which windows are complete is exact.
/// Every block holds one sample of "main;all" and a value of its own on "main;w&lt;n&gt;": a lost or doubled block
/// shows in the totals read back by a fresh query store.
/// </summary>
public sealed class BucketCompactionTests : IDisposable
{
    private static readonly LabelSet s_job = LabelSet.From(("job", "api"));
    private const long Second = 1_000_000_000;
    private static readonly long s_base = 20_000L * 84 * Second; // the start of a level-2 window
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("parca-bucket-compaction-");
    private readonly Dictionary<string, long> _expected = [];
    private int _blocks;

    private string Sub(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public async Task Every_complete_window_is_merged_a_late_block_is_merged_again_and_every_sample_counts_once()
    {
        // The level-2 window before s_base: three blocks; the current one: level-1 windows [0,12) [12,24) [24,36) with two
        // blocks each, and two blocks in [36,48), which is still open at the compactor's "now" of s_base + 40 s.
        double[] offsets = [-80, -50, -20, 1, 7, 13, 19, 25, 31, 36.5, 37.5];
        await UploadAsync("a", offsets);
        Assert.Equal(offsets.Length, Metas().Count);
        AssertTotals();

        await CompactAsync(s_base + (40 * Second));
        var metas = Metas();
        Assert.Equal([(2, 3)], Shape(metas, 2));
        Assert.Equal([(1, 2), (1, 2), (1, 2)], Shape(metas, 1));
        Assert.Equal([(0, 1), (0, 1)], Shape(metas, 0)); // the open window waits
        Assert.Equal([s_base - (80 * Second), s_base + Second, s_base + (13 * Second), s_base + (25 * Second)], metas.Where(m => m.Level > 0).Select(m => m.MinTimeNanos).Order());
        AssertTotals();

        // An ingester that was down uploads a block of the merged window [12,24): the window is merged again.
        await UploadAsync("b", [15]);
        await CompactAsync(s_base + (41 * Second));
        metas = Metas();
        Assert.Equal([(1, 2), (1, 2), (1, 3)], Shape(metas, 1));
        Assert.Equal(6, metas.Count);
        AssertTotals();

        // Once the level-2 window is complete, its level-1 and level-0 blocks become one level-2 block.
        await CompactAsync(s_base + (87 * Second));
        metas = Metas();
        Assert.Equal([(2, 3), (2, 9)], Shape(metas, 2));
        Assert.Equal(2, metas.Count);
        Assert.All(metas, m => Assert.Equal(m.Inputs.Count, m.Sources.Count)); // each input's log segments, once
        AssertTotals();
    }

    [Fact]
    public async Task Superseded_blocks_stay_for_the_delete_delay_and_every_sample_still_counts_once()
    {
        await UploadAsync("a", [1, 7]);
        var clock = new SettableClock(DateTimeOffset.FromUnixTimeMilliseconds(s_base / 1_000_000) + TimeSpan.FromSeconds(40));
        using var compactor = new ProfileStore(new StorageOptions
        {
            Path = Sub("compactor"),
            Bucket = new FilesystemBucket(Sub("bucket")),
            BlockDuration = TimeSpan.FromSeconds(1),
            BucketSyncInterval = TimeSpan.FromMilliseconds(200),
            BucketDeleteDelay = TimeSpan.FromMinutes(10),
            Retention = TimeSpan.Zero,
            Time = clock,
        });
        for (var i = 0; i < 600 && !(compactor.BucketUpkeepIdle && Metas().Count == 3); i++)
        {
            await Task.Delay(100);
        }

        // Merged, and both inputs still there: a server that listed the bucket before the merge reads them.
        var metas = Metas();
        Assert.Equal([(1, 2)], Shape(metas, 1));
        Assert.Equal([(0, 1), (0, 1)], Shape(metas, 0));
        AssertTotals();

        clock.Now += TimeSpan.FromMinutes(9);
        await Task.Delay(1000); // five passes
        Assert.Equal(3, Metas().Count);

        clock.Now += TimeSpan.FromMinutes(1);
        for (var i = 0; i < 600 && Metas().Count != 1; i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal([(1, 2)], Shape(Metas(), 1));
        Assert.Single(Metas());
        AssertTotals();
    }

    [Fact]
    public void A_window_is_merged_in_groups_within_the_input_and_size_bounds_and_blocks_at_the_bound_are_final()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(s_base / 1_000_000) + TimeSpan.FromSeconds(40);
        var d = TimeSpan.FromSeconds(1);
        BucketBlockMeta Block(string id, double at, long bytes, int level = 0) => new()
        {
            Id = id,
            Level = level,
            MinTimeNanos = s_base + (long)(at * Second),
            MaxTimeNanos = s_base + (long)(at * Second),
            Inputs = [id],
            Parts = [new BucketPart { Size = bytes }],
        };

        // 40 small blocks in [0,12): the oldest 32 first.
        var many = Enumerable.Range(0, 40).Select(i => Block($"b{i:d2}", 0.25 * i, 10)).ToList();
        var group = BucketCompactionPlan.Next(many, d, now, maxBytes: 1000, maxInputs: 32, out var level);
        Assert.Equal(1, level);
        Assert.Equal(many.Take(32).Select(m => m.Id), group.Select(m => m.Id));

        // Byte bound 250: 100 + 100, then 100 alone is not a group; a block at the bound never is an input.
        List<BucketBlockMeta> sized = [Block("x1", 1, 100), Block("x2", 2, 100), Block("x3", 3, 100), Block("big", 4, 250)];
        Assert.Equal(["x1", "x2"], BucketCompactionPlan.Next(sized, d, now, 250, 32, out _).Select(m => m.Id));
        List<BucketBlockMeta> after = [Block("x12", 1, 200, level: 1), Block("x3", 3, 100), Block("big", 4, 250)];
        Assert.Empty(BucketCompactionPlan.Next(after, d, now, 250, 32, out _));

        // A lone block of a complete window, and blocks of the window still open: nothing to do.
        List<BucketBlockMeta> quiet = [Block("done", 13, 10, level: 1), Block("open1", 36.5, 10), Block("open2", 37.5, 10)];
        Assert.Empty(BucketCompactionPlan.Next(quiet, d, now, 1000, 32, out _));
    }

    [Fact]
    public void A_merge_keeps_every_series_time_stack_value_and_sample_label_of_its_inputs()
    {
        static BlockPartition Block(string id, long time, string other)
        {
            var head = new Head.HeadPartition();
            var b = new Ingest.IngestBuilder(("samples", "count"), ("cpu", "nanoseconds")) { TimeNanos = time, DurationNanos = 10 * Second, Period = 10_000_000 };
            b.Sample("main;work;leaf", 3, 30);
            b.SampleWithLabels("main;work", [("span", "a1"), ("tenant", other)], 2, 20);
            b.SampleWithLabels("main;" + other, [("span", "b2")], 5, 50).WithNumLabel("bytes", 4096, "bytes");
            head.Append(Cpu, s_job, b.Build());
            head.Append(Cpu, LabelSet.From(("job", other)), CpuProfile(time + Second, ("main;work", 7), (other + ";x", 1)));
            head.Seal();
            return BlockBuilder.Build(head.View(), id);
        }

        var inputs = new[] { Block("i1", 10 * Second, "gc"), Block("i2", 20 * Second, "io"), Block("i3", 30 * Second, "gc") };
        var merged = BlockMerge.Merge([.. inputs.Select(i => i.View())], "m", CancellationToken.None);
        var expected = inputs.SelectMany(i => Samples(i.View())).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(30, expected.Count); // 3 blocks × (3 + 2 samples) × 2 sample types
        Assert.Equal(expected, Samples(merged.View()).Order(StringComparer.Ordinal));
        Assert.Equal(inputs.Sum(i => i.SampleCount), merged.SampleCount);
    }

    /// <summary>Every sample of a view as "series type labels | time | stack | sample labels | value".</summary>
    private static List<string> Samples(PartitionView view)
    {
        var result = new List<string>();
        foreach (var row in view.Rows)
        {
            var series = view.Series.GetSeries(row.Series);
            var stacks = new int[row.SampleCount];
            var values = new long[row.SampleCount];
            var sets = new int[row.SampleCount];
            view.ReadSamples(row, stacks, values, sets);
            for (var i = 0; i < stacks.Length; i++)
            {
                var labels = row.HasSampleLabels
                    ? string.Join(",", view.SampleLabels.Get(sets[i]).ToArray().Select(l => $"{view.Symbols.String(l.Key)}={(l.Str >= 0 ? view.Symbols.String(l.Str) : l.Num + view.Symbols.String(l.NumUnit))}"))
                    : "";
                result.Add($"{series.Type} {series.Labels} | {row.TimeNanos} | {StackString(view, stacks[i])} | {labels} | {values[i]}");
            }
        }

        return result;
    }

    /// <summary>One ingest store uploads one block per offset (seconds from s_base).</summary>
    private async Task UploadAsync(string ingester, double[] offsets)
    {
        using var ingest = new ProfileStore(new StorageOptions
        {
            Path = Sub(ingester),
            WalEnabled = true,
            Bucket = new FilesystemBucket(Sub("bucket")),
            BucketCompaction = false,
            BlockDuration = TimeSpan.FromHours(1),
            BucketSyncInterval = TimeSpan.FromMilliseconds(200),
            Retention = TimeSpan.Zero,
        });
        foreach (var offset in offsets)
        {
            var n = _blocks++;
            ingest.Append(Cpu, s_job, CpuProfile(s_base + (long)(offset * Second), ("main;all", 1), ($"main;w{n}", n + 1)));
            _expected["main;all"] = _expected.GetValueOrDefault("main;all") + 1;
            _expected[$"main;w{n}"] = n + 1;
            await ingest.FlushAsync();
        }
    }

    /// <summary>Runs a compactor whose clock stands at <paramref name="nowNanos"/> until a pass finds nothing to merge or delete.</summary>
    private async Task CompactAsync(long nowNanos)
    {
        var log = new List<string>();
        using var compactor = new ProfileStore(new StorageOptions
        {
            Path = Sub("compactor"),
            Bucket = new FilesystemBucket(Sub("bucket")),
            BlockDuration = TimeSpan.FromSeconds(1),
            BucketSyncInterval = TimeSpan.FromMilliseconds(200),
            BucketDeleteDelay = TimeSpan.Zero,
            Retention = TimeSpan.Zero,
            Time = new FrozenClock(DateTimeOffset.FromUnixTimeMilliseconds(nowNanos / 1_000_000)),
            Log = line => { lock (log) { log.Add(line); } },
        });
        for (var i = 0; i < 600 && !compactor.BucketUpkeepIdle; i++)
        {
            await Task.Delay(100);
        }

        lock (log)
        {
            Assert.True(compactor.BucketUpkeepIdle, "the compactor did not settle: " + string.Join(" | ", log));
            Assert.DoesNotContain(log, l => l.Contains("failed", StringComparison.Ordinal));
        }
    }

    private List<BucketBlockMeta> Metas() =>
        [.. Directory.GetFiles(Path.Combine(Sub("bucket"), "blocks"), "meta.json", SearchOption.AllDirectories)
            .Select(f => BucketBlockMeta.Parse(File.ReadAllBytes(f), f))];

    /// <summary>(level, inputs) of the blocks of one level, sorted.</summary>
    private static List<(int Level, int Inputs)> Shape(List<BucketBlockMeta> metas, int level) =>
        [.. metas.Where(m => m.Level == level).Select(m => (m.Level, m.Inputs.Count)).Order()];

    /// <summary>A fresh query store on the bucket reads every block's sample exactly once.</summary>
    private void AssertTotals()
    {
        using var query = new ProfileStore(new StorageOptions { QueryOnly = true, Bucket = new FilesystemBucket(Sub("bucket")), Retention = TimeSpan.Zero });
        var totals = new Dictionary<string, long>();
        foreach (var partition in query.Partitions)
        {
            var view = partition.View();
            for (var s = 0; s < view.Series.SeriesCount; s++)
            {
                if (view.Series.GetSeries(s).Type.SampleType != "samples")
                {
                    continue;
                }

                foreach (var (stack, value) in ReadStacks(view, s))
                {
                    totals[stack] = totals.GetValueOrDefault(stack) + value;
                }
            }
        }

        Assert.Equal(_expected.OrderBy(e => e.Key, StringComparer.Ordinal), totals.OrderBy(e => e.Key, StringComparer.Ordinal));
    }

    /// <summary>A clock standing at one moment; timers (sync interval, delays) run on real time.</summary>
    private sealed class FrozenClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>A clock the test moves; timers run on real time.</summary>
    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
