using Parca.Storage.Blocks;
using Parca.Storage.Wal;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>Log segments found at start-up while the log is off are never ignored silently.</summary>
public sealed class WalLeftoverTests : IDisposable
{
    private static readonly LabelSet s_job = LabelSet.From(("job", "api"));
    private readonly string _dir = Directory.CreateTempSubdirectory("parca-leftover-").FullName;
    private readonly long _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    public WalLeftoverTests()
    {
        using var store = new ProfileStore(new StorageOptions { Path = _dir, WalEnabled = true, FlushOnDispose = false });
        store.Append(Cpu, s_job, CpuProfile(_now, ("main;logged", 4)));
    } // crash: the profile is only in the log

    public void Dispose() => Directory.Delete(_dir, true);

    private string WalDir => Path.Combine(_dir, "wal");

    private ProfileStore OpenWithoutLog(WalLeftoverPolicy policy) => new(new StorageOptions { Path = _dir, WalLeftover = policy });

    [Fact]
    public void Refuses_to_start_and_names_the_choices()
    {
        var e = Assert.Throws<StorageStartupException>(() => OpenWithoutLog(WalLeftoverPolicy.Refuse));
        Assert.Contains("1 write-ahead log segment(s) not yet in blocks", e.Message, StringComparison.Ordinal);
        Assert.Contains("--storage-enable-wal", e.Message, StringComparison.Ordinal);
        Assert.Contains("--storage-wal-leftover=replay", e.Message, StringComparison.Ordinal);
        Assert.Contains("--storage-wal-leftover=discard", e.Message, StringComparison.Ordinal);
        Assert.Single(WriteAheadLog.Segments(WalDir)); // nothing touched
    }

    [Fact]
    public async Task Replay_writes_the_segments_into_a_block_then_deletes_them()
    {
        using (var store = OpenWithoutLog(WalLeftoverPolicy.Replay))
        {
            await store.FlushAsync();
            var block = Assert.Single(store.Partitions.OfType<BlockPartition>());
            Assert.Equal(new Dictionary<string, long> { ["main;logged"] = 4 }, ReadStacks(block.View(), 0));
            Assert.Empty(WriteAheadLog.Segments(WalDir));
        }

        using var again = OpenWithoutLog(WalLeftoverPolicy.Refuse); // nothing left over: starts
        Assert.Single(again.Partitions.OfType<BlockPartition>());
    }

    [Fact]
    public void Discard_deletes_the_segments_and_says_so()
    {
        using var store = OpenWithoutLog(WalLeftoverPolicy.Discard);
        Assert.Empty(WriteAheadLog.Segments(WalDir));
        Assert.Contains("discarded 1 write-ahead log segment(s)", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
        Assert.True(store.Partitions[^1] is Head.HeadPartition { IsEmpty: true });
    }
}
