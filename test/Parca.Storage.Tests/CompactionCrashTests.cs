using Parca.Storage.Blocks;
using Parca.Storage.Wal;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// A crash in the middle of a compaction that writes several blocks (a head holding far-apart times): the parts
/// already renamed into place are not trusted while their log segment is still there; they are deleted and the
/// replay brings every profile back exactly once.
/// </summary>
public sealed class CompactionCrashTests : IDisposable
{
    private static readonly LabelSet s_job = LabelSet.From(("job", "api"));
    private readonly string _dir = Directory.CreateTempSubdirectory("parca-compact-crash-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private ProfileStore Open() => new(new StorageOptions { Path = _dir, WalEnabled = true, FlushOnDispose = false });

    [Fact]
    public async Task A_crash_between_the_parts_of_a_compaction_replays_everything_exactly_once()
    {
        var now = DateTimeOffset.UtcNow;
        string segmentCopy;
        string segmentPath;
        using (var store = Open())
        {
            store.Append(Cpu, s_job, CpuProfile(now.AddHours(-5).ToUnixTimeMilliseconds() * 1_000_000, ("main;early", 3)));
            store.Append(Cpu, s_job, CpuProfile(now.ToUnixTimeMilliseconds() * 1_000_000, ("main;late", 4)));
            segmentPath = WriteAheadLog.Segments(Path.Combine(_dir, "wal")).Single().Path;
            segmentCopy = segmentPath + ".copy";
            File.Copy(segmentPath, segmentCopy);
            await store.FlushAsync();
            Assert.Equal(2, store.Partitions.Count(p => p is BlockPartition)); // two time ranges, two parts
        }

        // The state a kill leaves between renaming part 1 and part 2: part 2 absent, the segment not yet deleted.
        var parts = Directory.GetFiles(Path.Combine(_dir, "blocks")).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(2, parts.Length);
        File.Delete(parts[1]);
        File.Move(segmentCopy, segmentPath);

        using var reopened = Open();
        Assert.Equal(2, reopened.ReplayedProfiles);
        Assert.Contains("part of a compaction cut short (1 of 2 blocks written)", Assert.Single(reopened.LoadErrors), StringComparison.Ordinal);
        Assert.Empty(reopened.Partitions.OfType<BlockPartition>());
        Assert.Equal(new Dictionary<string, long> { ["main;early"] = 3, ["main;late"] = 4 }, ReadStacks(reopened.Partitions[^1].View(), 0));
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir, "blocks")));
    }

    [Fact]
    public async Task Parts_whose_segments_are_gone_are_kept_even_when_retention_removed_a_sibling()
    {
        var now = DateTimeOffset.UtcNow;
        using (var store = Open())
        {
            store.Append(Cpu, s_job, CpuProfile(now.AddHours(-5).ToUnixTimeMilliseconds() * 1_000_000, ("main;early", 3)));
            store.Append(Cpu, s_job, CpuProfile(now.ToUnixTimeMilliseconds() * 1_000_000, ("main;late", 4)));
            await store.FlushAsync();
        }

        File.Delete(Directory.GetFiles(Path.Combine(_dir, "blocks")).Order(StringComparer.Ordinal).First()); // as retention would

        using var reopened = Open();
        Assert.Empty(reopened.LoadErrors);
        var block = Assert.Single(reopened.Partitions.OfType<BlockPartition>());
        Assert.Equal(new Dictionary<string, long> { ["main;late"] = 4 }, ReadStacks(block.View(), 0));
    }
}
