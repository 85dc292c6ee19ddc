using Parca.Storage.Wal;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// A real full disk (an 8 MiB tmpfs): ingest is refused with "disk full" and nothing is half-stored; compactions that
/// fail are counted and retried; memory stays bounded; when space returns everything resumes by itself, and after a
/// restart every acknowledged profile is back exactly once with no log segment left over.
/// </summary>
public sealed class DiskFullTests : IDisposable
{
    private static readonly LabelSet s_job = LabelSet.From(("job", "api"));
    private readonly SmallDisk _disk = new();
    private readonly List<string> _log = [];
    private readonly long _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    public void Dispose() => _disk.Dispose();

    private ProfileStore Open(bool wal, long headLimit = 0, long activeMemory = 2 << 20) => new(new StorageOptions
    {
        Path = Path.Combine(_disk.Path, "data"),
        WalEnabled = wal,
        FlushOnDispose = false,
        ActiveMemoryBytes = activeMemory,
        HeadMemoryLimitBytes = headLimit,
        CompactionRetryDelay = TimeSpan.FromMilliseconds(20),
        Log = line => { lock (_log) { _log.Add(line); } },
    });

    /// <summary>Profile <paramref name="i"/>: stack "main;p{i}" = 1, plus 300 filler frames so records take space.</summary>
    private Ingest.IngestProfile Profile(int i)
    {
        var samples = new (string, long)[301];
        samples[0] = ($"main;p{i}", 1);
        for (var k = 1; k < samples.Length; k++)
        {
            samples[k] = ($"main;bulk{k};leaf{i % 7}", 2);
        }

        return CpuProfile(_now + i, samples);
    }

    /// <summary>Value of each "main;p{i}" stack over every partition (sample type "samples").</summary>
    private static Dictionary<string, long> Acknowledged(ProfileStore store)
    {
        var all = new Dictionary<string, long>();
        foreach (var p in store.Partitions)
        {
            var view = p.View();
            for (var s = 0; s < view.Series.SeriesCount; s++)
            {
                if (view.Series.GetSeries(s).Type.SampleType != "samples")
                {
                    continue;
                }

                foreach (var (stack, value) in ReadStacks(view, s))
                {
                    if (stack.StartsWith("main;p", StringComparison.Ordinal))
                    {
                        all[stack] = all.GetValueOrDefault(stack) + value;
                    }
                }
            }
        }

        return all;
    }

    [Fact]
    public async Task A_disk_full_cycle_with_the_log_on_loses_nothing_acknowledged()
    {
        var acked = new Dictionary<string, long>();
        var refused = 0;
        var dataDir = Path.Combine(_disk.Path, "data");
        using (var store = Open(wal: true))
        {
            void Ingest(int from, int to)
            {
                for (var i = from; i < to; i++)
                {
                    try
                    {
                        store.Append(Cpu, s_job, Profile(i));
                        acked[$"main;p{i}"] = 1;
                    }
                    catch (StorageWriteException e)
                    {
                        Assert.True(e.DiskFull);
                        Assert.Equal("disk full on the storage path", e.Message); // what a client sees: no path
                        refused++;
                    }
                }
            }

            Ingest(0, 150);
            Assert.Equal(0, refused);
            _disk.Fill();
            Ingest(150, 300);
            Assert.True(refused > 100, $"only {refused} appends were refused on a full disk");
            Assert.True(store.DiskFull);

            _disk.Free();
            Ingest(300, 450);
            Assert.False(store.DiskFull);
            await store.FlushAsync(); // blocks resume: every sealed head, including those that failed, is written
            Assert.Equal(0, store.PendingCompactions);
            Assert.Equal(acked, Acknowledged(store));
        } // then a crash: nothing more is written

        Assert.Contains(_log, l => l.Contains("disk full on", StringComparison.Ordinal));
        Assert.Contains(_log, l => l.Contains("space is back", StringComparison.Ordinal));
        using var reopened = Open(wal: true);
        Assert.Empty(reopened.LoadErrors);
        Assert.Equal(0, reopened.ReplayedProfiles); // every acknowledged profile is in a block ...
        Assert.Equal(acked, Acknowledged(reopened)); // ... exactly once
        Assert.Single(WriteAheadLog.Segments(Path.Combine(dataDir, "wal"))); // only the new, empty segment
    }

    [Fact]
    public void A_crash_while_the_disk_is_full_replays_every_acknowledged_profile()
    {
        var acked = new Dictionary<string, long>();
        using (var store = Open(wal: true))
        {
            for (var i = 0; i < 200; i++)
            {
                if (i == 120)
                {
                    _disk.Fill();
                }

                try
                {
                    store.Append(Cpu, s_job, Profile(i));
                    acked[$"main;p{i}"] = 1;
                }
                catch (StorageWriteException)
                {
                }
            }
        } // killed with the disk still full: torn writes were cut back, so nothing after them is lost

        _disk.Free();
        using var reopened = Open(wal: true);
        Assert.Equal(acked, Acknowledged(reopened));
    }

    [Fact]
    public async Task Failed_compactions_are_retried_never_block_later_ones_and_bound_memory()
    {
        using var store = Open(wal: false, headLimit: 4L << 20, activeMemory: 1L << 20);
        var acked = new Dictionary<string, long>();
        _disk.Fill();
        StorageBusyException? busy = null;
        for (var i = 0; i < 3000 && busy is null; i++)
        {
            try
            {
                store.Append(Cpu, s_job, Profile(i));
                acked[$"main;p{i}"] = 1;
            }
            catch (StorageBusyException e)
            {
                busy = e;
            }
        }

        Assert.NotNull(busy); // bounded: refused instead of growing
        Assert.Contains("wait to be written as blocks", busy.Message, StringComparison.Ordinal);
        Assert.Contains("disk is full", busy.Message, StringComparison.Ordinal);
        Assert.True(store.PendingCompactions >= 2, $"{store.PendingCompactions} sealed heads waiting");
        Assert.True(store.CompactionFailures >= 2, $"{store.CompactionFailures} failed compactions");
        Assert.Contains(_log, l => l.Contains("compaction of a head", StringComparison.Ordinal) && l.Contains("retrying in", StringComparison.Ordinal));
        // No block on disk: a retry may be writing its temporary file at this instant (it deletes it on failure), so
        // only finished block files count here; the temporary ones must all be gone once the retries succeed.
        var blockDir = Path.Combine(_disk.Path, "data", "blocks");
        Assert.Empty(Directory.GetFiles(blockDir, "*" + Blocks.BlockFormat.Extension));

        _disk.Free();
        await store.FlushAsync(); // retried by itself: every waiting head becomes blocks
        Assert.Equal(0, store.PendingCompactions);
        Assert.Empty(Directory.GetFiles(blockDir, "*.tmp")); // no half-written block left behind
        store.Append(Cpu, s_job, Profile(1000)); // ingest accepted again
        acked["main;p1000"] = 1;
        Assert.Equal(acked, Acknowledged(store));
    }

    [Fact]
    public void A_graceful_shutdown_on_a_full_disk_logs_what_it_could_not_write()
    {
        var store = new ProfileStore(new StorageOptions
        {
            Path = Path.Combine(_disk.Path, "data"),
            WalEnabled = true,
            Log = line => { lock (_log) { _log.Add(line); } },
        });
        store.Append(Cpu, s_job, Profile(1));
        _disk.Fill();
        store.Dispose();
        Assert.Contains(_log, l => l.Contains("shutdown could not write 2 profiles", StringComparison.Ordinal) && l.Contains("replayed at the next start", StringComparison.Ordinal));
        _disk.Free();
        using var reopened = Open(wal: true);
        Assert.Equal(new Dictionary<string, long> { ["main;p1"] = 1 }, Acknowledged(reopened));
    }
}
