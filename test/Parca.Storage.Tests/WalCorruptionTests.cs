using System.Buffers.Binary;
using Parca.Storage.Wal;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// Damaged log segments: a flipped byte anywhere costs only the record it lands in (replay finds the next record by
/// its marker and checksums), forged lengths with valid header checksums are refused before anything is allocated,
/// truncation keeps every record before the cut, and segments written before the framing (format 1) still replay.
/// </summary>
public sealed class WalCorruptionTests : IDisposable
{
    private const int Records = 40;
    private static readonly LabelSet s_api = LabelSet.From(("job", "api"));
    private readonly string _dir = Directory.CreateTempSubdirectory("parca-walbad-").FullName;
    private readonly long _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;

    public void Dispose() => Directory.Delete(_dir, true);

    private string WalDir => Path.Combine(_dir, "wal");

    private ProfileStore Open() => new(new StorageOptions { Path = _dir, WalEnabled = true, FlushOnDispose = false });

    /// <summary>Writes <see cref="Records"/> profiles, one unique stack each ("main;p{i}" = i + 1), and returns the record offsets.</summary>
    private (string Segment, List<long> Offsets) WriteSegment()
    {
        using (var store = Open())
        {
            for (var i = 0; i < Records; i++)
            {
                store.Append(Cpu, s_api, CpuProfile(_now + i, ($"main;p{i}", i + 1)));
            }
        }

        var segment = WriteAheadLog.Segments(WalDir).Single().Path;
        var bytes = File.ReadAllBytes(segment);
        var offsets = new List<long>();
        for (long at = WriteAheadLog.SegmentMagic.Length; at < bytes.Length;)
        {
            offsets.Add(at);
            at += WriteAheadLog.HeaderBytes + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)at + 4));
        }

        Assert.Equal(Records, offsets.Count);
        return (segment, offsets);
    }

    private static Dictionary<string, long> Replayed(ProfileStore store) => ReadStacks(store.Partitions[^1].View(), 0);

    private static Dictionary<string, long> Expected(params int[] missing)
    {
        var d = new Dictionary<string, long>();
        for (var i = 0; i < Records; i++)
        {
            if (!missing.Contains(i))
            {
                d[$"main;p{i}"] = i + 1;
            }
        }

        return d;
    }

    [Theory]
    [InlineData(3, 0)] // the marker
    [InlineData(3, 5)] // the length
    [InlineData(17, 9)] // the payload checksum
    [InlineData(20, 14)] // the header checksum
    [InlineData(0, 40)] // the first record's payload
    [InlineData(25, 60)] // a payload in the middle
    [InlineData(39, 30)] // the last record's payload
    public void A_flipped_byte_costs_only_its_record_and_replay_resumes_after_it(int record, int offsetInRecord)
    {
        var (segment, offsets) = WriteSegment();
        using (var f = new FileStream(segment, FileMode.Open))
        {
            f.Position = offsets[record] + offsetInRecord;
            var b = f.ReadByte();
            f.Position--;
            f.WriteByte((byte)(b ^ 0x5A));
        }

        using var store = Open();
        Assert.Equal(Records - 1, store.ReplayedProfiles);
        Assert.Equal(Expected(record), Replayed(store));
        var problem = Assert.Single(store.LoadErrors);
        Assert.Contains($"skipped bytes {offsets[record]}..", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_segment_header_still_reads_as_format_2()
    {
        var (segment, _) = WriteSegment();
        using (var f = new FileStream(segment, FileMode.Open))
        {
            f.Write("garbage!"u8);
        }

        using var store = Open();
        Assert.Equal(Expected(), Replayed(store));
        Assert.Contains("damaged segment header", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(uint.MaxValue)] // beyond the file
    [InlineData(0x7FFF_FFFFu)] // ≥ 2 GiB
    [InlineData(100u)] // inside the file: the payload checksum fails
    public void A_forged_length_with_a_valid_header_checksum_costs_only_its_record(uint forged)
    {
        var (segment, offsets) = WriteSegment();
        var bytes = File.ReadAllBytes(segment);
        var header = bytes.AsSpan((int)offsets[10], WriteAheadLog.HeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], forged);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], WalChecksum.Compute(header[..12]));
        File.WriteAllBytes(segment, bytes);

        using var store = Open();
        Assert.Equal(Expected(10), Replayed(store));
        Assert.Single(store.LoadErrors);
    }

    [Fact]
    public void Truncation_keeps_every_record_before_the_cut()
    {
        var (segment, offsets) = WriteSegment();
        using (var f = new FileStream(segment, FileMode.Open))
        {
            f.SetLength(offsets[30] + 7);
        }

        using var store = Open();
        Assert.Equal(Expected([.. Enumerable.Range(30, 10)]), Replayed(store));
        Assert.Contains("to the end of the segment", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_segment_that_is_a_symlink_to_dev_zero_is_quarantined()
    {
        var (segment, _) = WriteSegment();
        File.Move(segment, Path.Combine(WalDir, "00000005.wal"));
        File.CreateSymbolicLink(segment, "/dev/zero");

        using var store = Open();
        Assert.Equal(Expected(), Replayed(store));
        Assert.Contains("symbolic link (to /dev/zero)", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "quarantine", Path.GetFileName(segment))));
    }

    [Fact]
    public void A_segment_that_is_a_fifo_is_quarantined_without_being_opened()
    {
        var (segment, _) = WriteSegment();
        File.Move(segment, Path.Combine(WalDir, "00000005.wal"));
        SpecialFiles.MakeFifo(segment);

        using var store = Open();
        Assert.Equal(Expected(), Replayed(store));
        Assert.Contains("is a FIFO (named pipe); only regular files are read", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_dir, "quarantine", Path.GetFileName(segment))));
    }

    [Fact]
    public void A_segment_of_the_previous_format_replays()
    {
        // Written by the log before records were framed (format 1: [length][CRC-32C][payload]), committed as is.
        Directory.CreateDirectory(WalDir);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "TestData", "wal-v1-00000001.wal"), Path.Combine(WalDir, "00000001.wal"));

        using var store = Open();
        Assert.Empty(store.LoadErrors);
        Assert.Equal(3, store.ReplayedProfiles);
        var view = store.Partitions[^1].View();
        int Series(string job) => Enumerable.Range(0, view.Series.SeriesCount).First(i => view.Series.GetSeries(i).Labels.Equals(LabelSet.From(("job", job))) && view.Series.GetSeries(i).Type.SampleType == "samples");
        Assert.Equal(new Dictionary<string, long> { ["main;handler"] = 11, ["main;gc"] = 6 }, ReadStacks(view, Series("api")));
        Assert.Equal(new Dictionary<string, long> { ["main;query"] = 5 }, ReadStacks(view, Series("db")));
    }

    [Fact]
    public void A_wal_path_that_is_a_file_is_quarantined_and_the_store_starts()
    {
        File.WriteAllText(WalDir, "not a directory");
        using (var store = Open())
        {
            Assert.Contains("is a file, not a directory", Assert.Single(store.LoadErrors), StringComparison.Ordinal);
            store.Append(Cpu, s_api, CpuProfile(_now, ("main;a", 1)));
        }

        using var reopened = Open();
        Assert.Equal(1, reopened.ReplayedProfiles);
    }
}
