using Parca.Ingest;
using Parca.Pprof;
using Parca.Storage;

namespace Parca.Server.Tests;

/// <summary>
/// WriteRaw's server side without the RPC layer: pooled decoders whose buffers the stored profiles borrow, location
/// resolution by content, all-or-nothing requests.
/// </summary>
public sealed class ProfileWriterTests
{
    private const string Type = "parca_agent:samples:count:cpu:nanoseconds:delta";

    /// <summary>A gzipped CPU pprof; each stack is root first, its locations numbered in first-seen order.</summary>
    private static byte[] Pprof(long time, string[] locationOrder, params (string RootFirst, long Value)[] samples)
    {
        var p = new Profile
        {
            TimeNanos = time,
            DurationNanos = 10_000_000_000,
            Period = 52_631_578,
            PeriodType = new PprofValueType("cpu", "nanoseconds"),
        };
        p.SampleTypes.Add(new PprofValueType("samples", "count"));
        p.Mappings.Add(new Mapping { Id = 1, MemoryStart = 0x400000, MemoryLimit = 0x800000, Filename = "/bin/app", BuildId = "b1" });
        var ids = new Dictionary<string, ulong>();
        foreach (var name in locationOrder)
        {
            var id = (ulong)ids.Count + 1;
            ids.Add(name, id);
            p.Functions.Add(new Function { Id = id, Name = name, SystemName = name, Filename = name + ".go" });
            var loc = new Location { Id = id, MappingId = 1, Address = 0x400000 + ((ulong)name.Sum(ch => ch) * 16) };
            loc.Lines.Add(new Line(id, 7));
            p.Locations.Add(loc);
        }

        foreach (var (stack, value) in samples)
        {
            p.Samples.Add(new Sample { LocationIds = stack.Split(';').Reverse().Select(f => ids[f]).ToArray(), Values = [value] });
        }

        return PprofEncoder.Encode(p, compress: true);
    }

    private static WriteSeries Series(string node, params byte[][] profiles) =>
        new([new("__name__", "parca_agent"), new("node", node)], profiles.Select(p => new WriteSample(p, null)).ToArray());

    private static Dictionary<string, long> Stacks(ProfileStore store)
    {
        var view = store.Partitions[^1].View();
        var result = new Dictionary<string, long>();
        for (var s = 0; s < view.Series.SeriesCount; s++)
        {
            Assert.Equal(Type, view.Series.GetSeries(s).Type.ToString());
            foreach (var rowIndex in view.Series.GetSeries(s).ProfileRows)
            {
                var row = view.Rows[rowIndex];
                var stacks = new int[row.SampleCount];
                var values = new long[row.SampleCount];
                view.ReadSamples(row, stacks, values, new int[row.SampleCount]);
                for (var i = 0; i < stacks.Length; i++)
                {
                    var frames = new List<string>();
                    for (var node = stacks[i]; node > 0; node = view.Tree.Parents[node])
                    {
                        var loc = view.Symbols.Locations[view.Tree.Locations[node]];
                        frames.Add(view.Symbols.String(view.Symbols.Functions[view.Symbols.LinesOf(loc)[0].Function].Name));
                    }

                    frames.Reverse();
                    var key = string.Join(";", frames);
                    result[key] = result.GetValueOrDefault(key) + values[i];
                }
            }
        }

        return result;
    }

    [Fact]
    public void Profiles_of_one_request_keep_their_own_strings_and_renumbered_locations()
    {
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero }); // the profiles are at t = 1 ns
        var writer = new ProfileWriter(store);
        // Same location ids 1..3, different functions behind them, in one request and across requests: each profile
        // borrows its own pooled decoder until stored, and locations are resolved by content.
        var a = Pprof(1, ["main", "read", "parse"], ("main;read;parse", 5), ("main;read", 1));
        var b = Pprof(1, ["main", "write", "flush"], ("main;write;flush", 7));
        var c = Pprof(2, ["flush", "main", "write"], ("main;write", 11), ("main;write;flush", 2));
        Assert.Equal(5, writer.Write([Series("n1", a, b), Series("n2", c)]));
        Assert.Equal(4, writer.Write([Series("n2", c, a)]));

        Assert.Equal(new Dictionary<string, long>
        {
            ["main;read;parse"] = 10,
            ["main;read"] = 2,
            ["main;write;flush"] = 11,
            ["main;write"] = 22,
        }, Stacks(store));
        Assert.Equal(9, store.IngestedSamples);
    }

    [Fact]
    public void A_bad_profile_rejects_the_whole_request_and_later_requests_still_work()
    {
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero }); // the profiles are at t = 1 ns
        var writer = new ProfileWriter(store);
        var good = Pprof(1, ["main", "work"], ("main;work", 3));
        var e = Assert.Throws<IngestError>(() => writer.Write([Series("n1", good), Series("n2", good, [0x1f, 0x8b, 1, 2, 3])]));
        Assert.StartsWith("series[1].samples[1].raw_profile: ", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.IngestedSamples);

        var bad = Assert.Throws<IngestError>(() => writer.Write([Series("n1", BadType())]));
        Assert.Contains("series[0].samples[0].raw_profile.sample_type[0]", bad.Message, StringComparison.Ordinal);

        Assert.Equal(1, writer.Write([Series("n1", good)]));
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 3 }, Stacks(store));
    }

    [Fact]
    public void Profiles_older_than_the_retention_are_refused_with_the_reason_and_nothing_is_stored()
    {
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.FromDays(7) });
        var writer = new ProfileWriter(store);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var fresh = Pprof(now - (3_600L * 1_000_000_000), ["main", "work"], ("main;work", 3));
        var old = Pprof(now - (8 * 86_400L * 1_000_000_000), ["main", "work"], ("main;work", 5));

        var e = Assert.Throws<IngestError>(() => writer.Write([Series("n1", fresh), Series("n2", fresh, old)]));
        Assert.StartsWith("series[1].samples[1].raw_profile: time_nanos ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("is older than the storage retention (7d); start parca with --storage-retention=0 to keep old profiles", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.IngestedSamples);

        Assert.Equal(1, writer.Write([Series("n1", fresh)]));
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 3 }, Stacks(store));
    }

    private static byte[] BadType()
    {
        var p = new Profile { TimeNanos = 1, PeriodType = new PprofValueType("cpu", "nanoseconds"), Period = 1 };
        p.SampleTypes.Add(new PprofValueType("sam ples", "count"));
        p.Functions.Add(new Function { Id = 1, Name = "main" });
        var loc = new Location { Id = 1 };
        loc.Lines.Add(new Line(1, 1));
        p.Locations.Add(loc);
        p.Samples.Add(new Sample { LocationIds = [1], Values = [1] });
        return PprofEncoder.Encode(p, compress: true);
    }
}
