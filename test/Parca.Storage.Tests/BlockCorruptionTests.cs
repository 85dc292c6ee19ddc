using System.Buffers.Binary;
using Parca.Storage.Blocks;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// Damaged block files never stop the store from starting: each bad file is moved to &lt;path&gt;/quarantine with one
/// line naming it and why, and every intact block is served. Covers a flipped byte in each section, the table and
/// the footer, truncation, forged section lengths whose table checksum is valid, symlinks to /dev/zero and a
/// blocks path that is a file.
/// </summary>
public sealed class BlockCorruptionTests : IDisposable
{
    private static readonly LabelSet s_job = LabelSet.From(("job", "api"));
    private readonly string _dir = Directory.CreateTempSubdirectory("parca-blockbad-").FullName;
    private readonly long _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    public void Dispose() => Directory.Delete(_dir, true);

    private string BlockDir => Path.Combine(_dir, "blocks");

    private ProfileStore Open() => new(new StorageOptions { Path = _dir });

    /// <summary>Two blocks: "good" (main;good = 3) and "victim" (main;victim = 5); returns the victim's path.</summary>
    private async Task<string> WriteTwoBlocks()
    {
        using var store = Open();
        store.Append(Cpu, s_job, CpuProfile(_now, ("main;good", 3)));
        await store.FlushAsync();
        var good = Directory.GetFiles(BlockDir).Single();
        store.Append(Cpu, s_job, CpuProfile(_now + 1, ("main;victim", 5)));
        await store.FlushAsync();
        return Directory.GetFiles(BlockDir).Single(f => f != good);
    }

    private void AssertOnlyGoodServed(string victim, string reason)
    {
        using var store = Open();
        var blocks = store.Partitions.OfType<BlockPartition>().ToArray();
        var block = Assert.Single(blocks);
        Assert.Equal(new Dictionary<string, long> { ["main;good"] = 3 }, ReadStacks(block.View(), 0));
        var problem = Assert.Single(store.LoadErrors);
        Assert.Contains(victim, problem, StringComparison.Ordinal);
        Assert.Contains(reason, problem, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "quarantine", Path.GetFileName(victim))), "the bad file is kept aside");
        Assert.False(File.Exists(victim));
    }

    /// <summary>(offset, stored length) of each section, from the file's table.</summary>
    private static Dictionary<BlockFormat.Section, (int Offset, int Length, int Entry)> Sections(byte[] file)
    {
        var footer = file.AsSpan(file.Length - BlockFormat.FooterSize);
        var table = (int)BinaryPrimitives.ReadUInt64LittleEndian(footer);
        var count = (int)BinaryPrimitives.ReadUInt32LittleEndian(footer[8..]);
        var d = new Dictionary<BlockFormat.Section, (int, int, int)>();
        for (var i = 0; i < count; i++)
        {
            var e = table + (i * BlockFormat.TableEntrySize);
            var entry = file.AsSpan(e);
            d[(BlockFormat.Section)BinaryPrimitives.ReadUInt32LittleEndian(entry)] =
                ((int)BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]), (int)BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]), e);
        }

        return d;
    }

    [Theory]
    [InlineData((int)BlockFormat.Section.Meta)]
    [InlineData((int)BlockFormat.Section.Strings)]
    [InlineData((int)BlockFormat.Section.Mappings)]
    [InlineData((int)BlockFormat.Section.Functions)]
    [InlineData((int)BlockFormat.Section.Locations)]
    [InlineData((int)BlockFormat.Section.Stacks)]
    [InlineData((int)BlockFormat.Section.Series)]
    [InlineData((int)BlockFormat.Section.SampleLabels)]
    [InlineData((int)BlockFormat.Section.Profiles)]
    [InlineData((int)BlockFormat.Section.Samples)]
    public async Task A_flipped_byte_in_any_section_quarantines_only_that_block(int sectionId)
    {
        var section = (BlockFormat.Section)sectionId;
        var victim = await WriteTwoBlocks();
        var bytes = File.ReadAllBytes(victim);
        var (offset, length, _) = Sections(bytes)[section];
        bytes[offset + (length / 2)] ^= 0x20;
        File.WriteAllBytes(victim, bytes);
        AssertOnlyGoodServed(victim, $"section {section} checksum mismatch");
    }

    [Theory]
    [InlineData(0, "bad magic")] // head magic
    [InlineData(8, "unsupported block format version")]
    [InlineData(-3, "bad magic")] // tail magic
    [InlineData(-20, "section table")] // footer: table offset
    [InlineData(-30, "section table checksum mismatch")] // inside the table
    public async Task A_flipped_byte_in_the_frame_quarantines_the_block(int offset, string reason)
    {
        var victim = await WriteTwoBlocks();
        var bytes = File.ReadAllBytes(victim);
        bytes[offset >= 0 ? offset : bytes.Length + offset] ^= 0x41;
        File.WriteAllBytes(victim, bytes);
        AssertOnlyGoodServed(victim, reason);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    [InlineData(100)]
    public async Task A_truncated_block_is_quarantined(int keep)
    {
        var victim = await WriteTwoBlocks();
        using (var f = new FileStream(victim, FileMode.Open))
        {
            f.SetLength(keep);
        }

        AssertOnlyGoodServed(victim, "bad magic");
    }

    [Theory]
    [InlineData(8, 0x8000_0000UL, "out of range")] // stored length ≥ 2 GiB
    [InlineData(8, ulong.MaxValue, "out of range")] // stored length that overflows offset + length
    [InlineData(16, 0x7FFF_FFF0UL, "decompress")] // raw length just under 2 GiB: nothing that size is allocated
    [InlineData(0, ulong.MaxValue - 5, "out of range")] // offset
    public async Task A_forged_length_with_a_valid_table_checksum_is_refused_without_allocating_it(int field, ulong value, string reason)
    {
        var victim = await WriteTwoBlocks();
        var bytes = File.ReadAllBytes(victim);
        var (_, _, entry) = Sections(bytes)[BlockFormat.Section.Samples];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(entry + 8 + field), value);
        var footer = bytes.Length - BlockFormat.FooterSize;
        var table = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(footer));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(footer + 12), System.IO.Hashing.Crc32.HashToUInt32(System.IO.Hashing.Crc32ParameterSet.Crc32C, bytes.AsSpan(table, footer - table)));
        File.WriteAllBytes(victim, bytes);
        AssertOnlyGoodServed(victim, reason);
    }

    [Fact]
    public async Task A_block_that_is_a_symlink_to_dev_zero_is_quarantined()
    {
        var victim = await WriteTwoBlocks();
        File.Delete(victim);
        File.CreateSymbolicLink(victim, "/dev/zero");
        AssertOnlyGoodServed(victim, "symbolic link (to /dev/zero)");
    }

    [Fact]
    public async Task A_block_that_is_a_fifo_is_quarantined_without_being_opened()
    {
        var victim = await WriteTwoBlocks();
        File.Delete(victim);
        SpecialFiles.MakeFifo(victim); // opening it would block start-up until a writer came
        AssertOnlyGoodServed(victim, "is a FIFO (named pipe); only regular files are read");
    }

    [Fact]
    public async Task A_block_that_is_a_device_node_is_quarantined()
    {
        var victim = await WriteTwoBlocks();
        File.Delete(victim);
        SpecialFiles.MakeCharacterDevice(victim, 1, 5); // the node of /dev/zero, inside the data directory (needs root)
        AssertOnlyGoodServed(victim, "is a character device; only regular files are read");
    }

    [Fact]
    public async Task A_blocks_path_that_is_a_fifo_is_quarantined_and_the_store_starts()
    {
        Directory.CreateDirectory(_dir);
        SpecialFiles.MakeFifo(BlockDir);
        using (var store = Open())
        {
            Assert.Contains("is a FIFO (named pipe), not a directory", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
            store.Append(Cpu, s_job, CpuProfile(_now, ("main;a", 2)));
            await store.FlushAsync();
        }

        using var reopened = Open();
        Assert.Empty(reopened.LoadErrors);
        Assert.Equal(new Dictionary<string, long> { ["main;a"] = 2 }, ReadStacks(reopened.Partitions[0].View(), 0));
    }

    [Fact]
    public async Task A_blocks_path_that_is_a_file_is_quarantined_and_the_store_starts()
    {
        File.WriteAllText(BlockDir, "not a directory");
        using (var store = Open())
        {
            Assert.Contains("is a file, not a directory", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
            store.Append(Cpu, s_job, CpuProfile(_now, ("main;a", 2)));
            await store.FlushAsync();
        }

        using var reopened = Open();
        Assert.Empty(reopened.LoadErrors);
        Assert.Equal(new Dictionary<string, long> { ["main;a"] = 2 }, ReadStacks(reopened.Partitions[0].View(), 0));
    }
}
