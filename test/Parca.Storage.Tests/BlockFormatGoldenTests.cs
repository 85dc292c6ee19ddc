using Parca.Storage.Blocks;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// A block file written by an earlier version (golden/, committed as it was written) must stay readable: its
/// checksums verify and its content reads back exactly. Changing the block format, its CRC or its hashes shows here.
/// </summary>
public sealed class BlockFormatGoldenTests
{
    /// <summary>2026-12-01T00:00:00Z: the time of the golden block's profile.</summary>
    internal const long GoldenTimeNanos = 1_764_547_200_000_000_000;

    private static readonly LabelSet s_job = LabelSet.From(("job", "golden"));

    /// <summary>What the golden block holds (also how it was written).</summary>
    internal static Ingest.IngestProfile GoldenProfile()
    {
        var b = new Ingest.IngestBuilder(("samples", "count")) { TimeNanos = GoldenTimeNanos, DurationNanos = 10_000_000_000, Period = 1 };
        b.SampleWithLabels("main;handler;parse", [("span", "abc")], 4).WithNumLabel("bytes", 512, "bytes");
        b.Sample("main;handler;write", 7);
        b.Sample("main;gc", 6);
        return b.Build();
    }

    [Fact]
    public void Block_written_by_the_previous_version_is_read_with_its_checksums_and_content()
    {
        var dir = Directory.CreateTempSubdirectory("parca-golden-").FullName;
        try
        {
            var blocks = Directory.CreateDirectory(Path.Combine(dir, "blocks")).FullName;
            foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "golden"), "*.prcb"))
            {
                File.Copy(file, Path.Combine(blocks, Path.GetFileName(file)));
            }

            using var store = new ProfileStore(new StorageOptions { Path = dir, Retention = TimeSpan.FromDays(365 * 100), FlushOnDispose = false });
            Assert.Empty(store.LoadErrors);
            var block = Assert.Single(store.Partitions.OfType<BlockPartition>());
            var view = block.View();
            Assert.Equal(s_job, view.Series.GetSeries(0).Labels);
            Assert.Equal(
                new Dictionary<string, long> { ["main;handler;parse"] = 4, ["main;handler;write"] = 7, ["main;gc"] = 6 },
                ReadStacks(view, 0));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_flipped_byte_in_the_golden_block_is_a_load_error_naming_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("parca-golden-").FullName;
        try
        {
            var blocks = Directory.CreateDirectory(Path.Combine(dir, "blocks")).FullName;
            var source = Assert.Single(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "golden"), "*.prcb"));
            var bytes = File.ReadAllBytes(source);
            bytes[bytes.Length / 2] ^= 0xFF;
            File.WriteAllBytes(Path.Combine(blocks, Path.GetFileName(source)), bytes);

            using var store = new ProfileStore(new StorageOptions { Path = dir, Retention = TimeSpan.FromDays(365 * 100), FlushOnDispose = false });
            Assert.Contains(store.LoadErrors, e => e.Contains(Path.GetFileName(source), StringComparison.Ordinal));
            Assert.DoesNotContain(store.Partitions, p => p is BlockPartition);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
