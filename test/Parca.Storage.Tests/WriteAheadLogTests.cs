using Parca.Storage.Wal;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// The write-ahead log: a store that stops without flushing (a crash: <see cref="StorageOptions.FlushOnDispose"/>
/// off) loses nothing acknowledged, nothing is replayed twice once a block covers it, and a torn last record
/// costs only that record.
/// </summary>
public sealed class WriteAheadLogTests : IDisposable
{
    private const string Cpu = "process_cpu";
    private static readonly LabelSet s_api = LabelSet.From(("job", "api"));
    private static readonly LabelSet s_db = LabelSet.From(("job", "db"));
    private readonly string _dir = Directory.CreateTempSubdirectory("parca-wal-").FullName;
    private readonly long _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    public void Dispose() => Directory.Delete(_dir, true);

    private ProfileStore Open() => new(new StorageOptions { Path = _dir, WalEnabled = true, FlushOnDispose = false });

    private static Dictionary<string, long> Head(ProfileStore store, int series)
    {
        var head = store.Partitions[^1].View();
        return ReadStacks(head, series);
    }

    [Fact]
    public void Appends_survive_a_crash_with_labels_stacks_and_sample_labels()
    {
        using (var store = Open())
        {
            store.Append(Cpu, s_api, CpuProfile(_now, ("main;handler", 4), ("main;gc", 6)));
            store.Append(Cpu, s_db, CpuProfile(_now + 1_000_000_000, ("main;query", 5)));
            var b = new Ingest.IngestBuilder(("samples", "count")) { TimeNanos = _now + 2_000_000_000, DurationNanos = 1, Period = 1 };
            b.SampleWithLabels("main;handler", [("span", "abc")], 7).WithNumLabel("bytes", 512, "bytes");
            store.Append(Cpu, s_api, b.Build());
        } // no flush: only the log has the data

        Assert.Empty(Directory.Exists(Path.Combine(_dir, "blocks")) ? Directory.GetFiles(Path.Combine(_dir, "blocks")) : []);
        using var reopened = Open();
        Assert.Empty(reopened.LoadErrors);
        Assert.Equal(3, reopened.ReplayedProfiles);
        var view = reopened.Partitions[^1].View();
        int First(LabelSet labels) => Enumerable.Range(0, view.Series.SeriesCount).First(i => view.Series.GetSeries(i).Labels.Equals(labels));
        Assert.Equal(new Dictionary<string, long> { ["main;handler"] = 11, ["main;gc"] = 6 }, ReadStacks(view, First(s_api)));
        Assert.Equal(new Dictionary<string, long> { ["main;query"] = 5 }, ReadStacks(view, First(s_db)));

        var labelled = view.Rows.ToArray().Single(r => r.HasSampleLabels);
        var stacks = new int[1];
        var values = new long[1];
        var sets = new int[1];
        view.ReadSamples(labelled, stacks, values, sets);
        var labels = view.SampleLabels.Get(sets[0]).ToArray();
        Assert.Equal("abc", view.Symbols.String(labels[0].Str));
        Assert.Equal(512, labels[1].Num);
    }

    [Fact]
    public async Task A_block_on_disk_ends_the_replay_of_its_segments_and_later_appends_still_replay()
    {
        using (var store = Open())
        {
            store.Append(Cpu, s_api, CpuProfile(_now, ("main;old", 2)));
            await store.FlushAsync(); // block written: its segment is no longer needed
            store.Append(Cpu, s_api, CpuProfile(_now + 1_000_000_000, ("main;new", 3)));
        }

        using var reopened = Open();
        Assert.Equal(1, reopened.ReplayedProfiles); // not the flushed one again
        var block = Assert.IsType<Blocks.BlockPartition>(reopened.Partitions[0]);
        Assert.Equal(new Dictionary<string, long> { ["main;old"] = 2 }, ReadStacks(block.View(), 0));
        Assert.Equal(new Dictionary<string, long> { ["main;new"] = 3 }, Head(reopened, 0));
    }

    [Fact]
    public async Task Replayed_data_is_logged_until_its_block_is_written()
    {
        using (var store = Open())
        {
            store.Append(Cpu, s_api, CpuProfile(_now, ("main;a", 1)));
        }

        using (var second = Open())
        {
            Assert.Equal(1, second.ReplayedProfiles);
            second.Append(Cpu, s_api, CpuProfile(_now + 1_000_000_000, ("main;b", 1)));
        } // crashed again before any block: both profiles must come back

        using (var third = Open())
        {
            Assert.Equal(2, third.ReplayedProfiles);
            await third.FlushAsync();
            // The block holds both: only the new head's (empty) segment is left.
            Assert.Single(WriteAheadLog.Segments(Path.Combine(_dir, "wal")));
        }

        using var fourth = Open();
        Assert.Equal(0, fourth.ReplayedProfiles);
        Assert.Equal(new Dictionary<string, long> { ["main;a"] = 1, ["main;b"] = 1 }, ReadStacks(fourth.Partitions[0].View(), 0));
    }

    [Fact]
    public void A_torn_last_record_costs_only_that_record_and_is_reported()
    {
        using (var store = Open())
        {
            store.Append(Cpu, s_api, CpuProfile(_now, ("main;kept", 1)));
            store.Append(Cpu, s_api, CpuProfile(_now + 1_000_000_000, ("main;torn", 1)));
        }

        var segment = WriteAheadLog.Segments(Path.Combine(_dir, "wal")).Single().Path;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.SetLength(file.Length - 5); // the write of the last record was cut short
        }

        using var reopened = Open();
        Assert.Equal(1, reopened.ReplayedProfiles);
        Assert.Contains("to the end of the segment", Assert.Single(reopened.LoadErrors));
        Assert.Equal(new Dictionary<string, long> { ["main;kept"] = 1 }, Head(reopened, 0));
    }

    [Fact]
    public void A_graceful_shutdown_leaves_no_log_behind()
    {
        using (var store = new ProfileStore(new StorageOptions { Path = _dir, WalEnabled = true }))
        {
            store.Append(Cpu, s_api, CpuProfile(_now, ("main;a", 1)));
        } // flushed into a block on dispose

        Assert.Empty(WriteAheadLog.Segments(Path.Combine(_dir, "wal")));
        using var reopened = Open();
        Assert.Equal(0, reopened.ReplayedProfiles);
        Assert.Equal(new Dictionary<string, long> { ["main;a"] = 1 }, ReadStacks(reopened.Partitions[0].View(), 0));
    }

    [Fact]
    public async Task Concurrent_appends_across_many_head_rotations_come_back_exactly_once()
    {
        long appended;
        // (each tiny head holds a 768 KiB sample chunk: the default bound would rightly refuse this pathological rate)
        using (var store = new ProfileStore(new StorageOptions { Path = _dir, WalEnabled = true, FlushOnDispose = false, ActiveMemoryBytes = 256 * 1024, HeadMemoryLimitBytes = 4L << 30 }))
        {
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
            {
                for (var i = 0; i < 200; i++)
                {
                    store.Append(Cpu, LabelSet.From(("writer", w.ToString(System.Globalization.CultureInfo.InvariantCulture))),
                        CpuProfile(_now + i, ($"main;w{w};f{i % 37}", 1 + (i % 5)), ($"main;g{i % 11}", 2)));
                }
            })).ToArray();
            await Task.WhenAll(writers);
            appended = store.IngestedSamples;
            Assert.True(store.Partitions.Count > 3, "the head should have been compacted several times");
        } // crash: blocks written so far stay, the rest is only in the log

        using var reopened = Open();
        var stats = reopened.Stats();
        Assert.Equal(appended, stats.BlockSamples + stats.HeadSamples);
        Assert.Empty(reopened.LoadErrors);
    }

    [Fact]
    public void Block_ids_name_the_last_segment_they_cover()
    {
        Assert.Equal(0x2a, ProfileStore.WalSequenceOf("0123456789abcdef-w0000002a-0001-0123456789abcdef0123"));
        Assert.Null(ProfileStore.WalSequenceOf("0123456789abcdef-1f2e-0001-0123456789abcdef0123456789"));
    }
}
