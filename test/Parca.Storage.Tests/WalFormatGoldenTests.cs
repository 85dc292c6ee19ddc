using Parca.Pprof;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// A write-ahead-log segment written by an earlier version (golden/wal, committed as it was written) must replay:
/// one record of each kind, the pprof as the server received it (the log decodes it itself, with no decoder handed
/// in by the server) and a decoded profile. Changing the log's framing, CRC or record layout shows here.
/// </summary>
public sealed class WalFormatGoldenTests : IDisposable
{
    private static readonly LabelSet s_source = LabelSet.From(("job", "golden-pprof"));
    private static readonly LabelSet s_decoded = LabelSet.From(("job", "golden"));
    private readonly string _dir = Directory.CreateTempSubdirectory("parca-wal-golden-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>The pprof of the source record (also how it was written): main → handler → parse, 4 samples.</summary>
    internal static byte[] GoldenPprof()
    {
        var profile = new Profile
        {
            SampleTypes = { new PprofValueType("samples", "count") },
            PeriodType = new PprofValueType("samples", "count"),
            Period = 1,
            TimeNanos = BlockFormatGoldenTests.GoldenTimeNanos,
            DurationNanos = 10_000_000_000,
        };
        string[] names = ["parse", "handler", "main"];
        for (var i = 0; i < names.Length; i++)
        {
            profile.Functions.Add(new Function { Id = (ulong)i + 1, Name = names[i] });
            profile.Locations.Add(new Location { Id = (ulong)i + 1, Lines = { new Line((ulong)i + 1, 10 + i) } });
        }

        profile.Samples.Add(new Sample { LocationIds = [1, 2, 3], Values = [4] });
        profile.Samples.Add(new Sample { LocationIds = [2, 3], Values = [1] });
        return PprofEncoder.Encode(profile);
    }

    [Fact]
    public void Segment_written_by_the_previous_version_replays_both_record_kinds()
    {
        var wal = Directory.CreateDirectory(Path.Combine(_dir, "wal")).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "golden", "wal"), "*.wal"))
        {
            File.Copy(file, Path.Combine(wal, Path.GetFileName(file)));
        }

        using var store = new ProfileStore(new StorageOptions { Path = _dir, WalEnabled = true, Retention = TimeSpan.FromDays(365 * 100), FlushOnDispose = false });
        Assert.Empty(store.LoadErrors);
        Assert.Equal(2, store.ReplayedProfiles);
        Assert.Equal(new Dictionary<string, long> { ["main;handler;parse"] = 4, ["main;handler"] = 1 }, Stacks(store, s_source));
        Assert.Equal(new Dictionary<string, long> { ["main;handler;parse"] = 4, ["main;handler;write"] = 7, ["main;gc"] = 6 }, Stacks(store, s_decoded));
    }

    private static Dictionary<string, long> Stacks(ProfileStore store, LabelSet labels)
    {
        var result = new Dictionary<string, long>();
        foreach (var partition in store.Partitions)
        {
            var view = partition.View();
            for (var i = 0; i < view.Series.SeriesCount; i++)
            {
                if (view.Series.GetSeries(i).Labels.Equals(labels))
                {
                    foreach (var (stack, value) in ReadStacks(view, i))
                    {
                        result[stack] = result.GetValueOrDefault(stack) + value;
                    }
                }
            }
        }

        return result;
    }
}
