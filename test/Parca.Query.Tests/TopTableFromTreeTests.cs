using Parca.Ingest;
using Parca.LoadGen;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;
using Parca.Storage.Ingest;
using static Parca.Query.Tests.Fixtures;

namespace Parca.Query.Tests;

/// <summary>
/// The per-function table is computed from the merged call tree without building the frame graph; it must be the
/// table the frame graph defines, row for row: here the expected table is worked out naively from
/// <see cref="FlameGraph"/> (a row per graph frame id, flat summed over its nodes, cumulative over its nodes with no
/// ancestor of the same row, edges from each node's parent frame) on profiles with everything that makes the two
/// differ if done wrong: recursion (also between the inlined lines of one location), functions at several addresses
/// (graph siblings merge), unsymbolized frames, label groups and diffs.
/// </summary>
public sealed class TopTableFromTreeTests : IDisposable
{
    private const string Query = "cpu:samples:count:cpu:nanoseconds:delta";
    private readonly ProfileStore _store = Store();
    private readonly QueryEngine _engine;

    public TopTableFromTreeTests()
    {
        _engine = new QueryEngine(_store);
    }

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void Table_from_the_tree_equals_the_table_of_the_frame_graph(int seed, bool groupByLabel)
    {
        _store.Append("cpu", LabelSet.From(("job", "x")), RandomProfile(seed, 10 * Second));
        var options = new ProfileQueryOptions { GroupBy = groupByLabel ? ["labels.route"] : [] };
        AssertSameAsGraph(_engine.Query(ProfileSelection.Merge(Query, 0, 20 * Second), options));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Diff_table_from_the_tree_equals_the_table_of_the_frame_graph(bool absolute)
    {
        _store.Append("cpu", LabelSet.From(("job", "x")), RandomProfile(4, 10 * Second));
        _store.Append("cpu", LabelSet.From(("job", "x")), RandomProfile(5, 30 * Second, samples: 450));
        var r = _engine.Diff(ProfileSelection.Merge(Query, 0, 20 * Second), ProfileSelection.Merge(Query, 20 * Second, 40 * Second), absolute);
        Assert.True(r.IsDiff);
        AssertSameAsGraph(r);
    }

    [Fact]
    public void Large_profile_table_from_the_tree_equals_the_table_of_the_frame_graph()
    {
        const long t = 1_700_000_000_000_000_000;
        // Large enough (80k tree nodes) that the edges are built on another thread alongside the cumulative values.
        var profile = Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(80_000, functions: 300, timeNanos: t, addressesPerFunction: 4));
        new ProfileWriter(_store).Write([new WriteSeries([new("__name__", "cpu")], [new WriteSample(profile, null)])]);
        var r = _engine.Query(ProfileSelection.Merge("cpu:samples:count:cpu:nanoseconds:delta{}", t - 1, t + 1));
        Assert.True(r.Tree.Count > 64 * 1024, $"{r.Tree.Count} tree nodes");
        AssertSameAsGraph(r, withEdges: true);
    }

    /// <summary>
    /// Stacks over eight functions (so recursion is common) from a pool of locations: one line at one of three
    /// addresses per function, two inlined functions at one address (sometimes the same one twice), and two
    /// unsymbolized addresses; a third of the samples carry a <c>route</c> label.
    /// </summary>
    private static IngestProfile RandomProfile(int seed, long time, int samples = 400)
    {
        var rng = new Random(seed);
        var b = new IngestBuilder(("samples", "count"), ("cpu", "nanoseconds")) { TimeNanos = time, DurationNanos = 10 * Second, Period = Period };
        var mapping = b.Mapping("/bin/app");
        var pool = new List<int>();
        for (var f = 0; f < 8; f++)
        {
            for (var a = 0; a < 3; a++)
            {
                pool.Add(b.Location($"f{f}", mapping, (ulong)(0x1000 + (f * 0x100) + (a * 0x10))));
            }
        }

        for (var i = 0; i < 8; i++)
        {
            pool.Add(b.InlinedLocation(mapping, (ulong)(0x5000 + (i * 0x10)), $"f{rng.Next(8)}", $"f{(i % 3 == 0 ? i % 8 : rng.Next(8))}"));
        }

        pool.Add(b.InlinedLocation(mapping, 0x9000));
        pool.Add(b.InlinedLocation(mapping, 0x9010));
        for (var s = 0; s < samples; s++)
        {
            var stack = new int[1 + rng.Next(8)];
            for (var k = 0; k < stack.Length; k++)
            {
                stack[k] = pool[rng.Next(pool.Count)];
            }

            var count = 1 + rng.Next(50);
            (string, string)[]? labels = rng.Next(3) switch
            {
                0 => [("route", "/a")],
                1 => [("route", "/b")],
                _ => null,
            };
            b.Sample(stack, [count, count * Period], labels);
        }

        return b.Build();
    }

    private static void AssertSameAsGraph(MergeResult r, bool withEdges = false)
    {
        var g = FlameGraph.Build(r);
        var t = TopTable.Build(r, withEdges);
        Assert.Equal(g.FrameCount, t.Count);
        var location = new int[g.FrameCount];
        var line = new int[g.FrameCount];
        var flat = new long[g.FrameCount];
        var flatBase = new long[g.FrameCount];
        var cumulative = new long[g.FrameCount];
        var cumulativeBase = new long[g.FrameCount];
        var edges = new SortedDictionary<(int Caller, int Callee), long>();
        var seen = new bool[g.FrameCount];
        var recursive = 0;
        for (var n = 1; n < g.Count; n++)
        {
            var row = g.Frame[n];
            if (row < 0)
            {
                continue;
            }

            if (!seen[row])
            {
                (seen[row], location[row], line[row]) = (true, g.Location[n], g.Line[n]);
            }

            flat[row] += g.Flat[n];
            var above = false;
            for (var a = g.Parent[n]; a > 0; a = g.Parent[a])
            {
                above |= g.Frame[a] == row;
            }

            if (above)
            {
                recursive++;
            }
            else
            {
                cumulative[row] += g.Cumulative[n];
            }

            if (r.IsDiff)
            {
                flatBase[row] += g.FlatBase[n];
                cumulativeBase[row] += above ? 0 : g.CumulativeBase[n];
            }

            var caller = g.Frame[g.Parent[n]];
            if (caller >= 0 && caller != row)
            {
                edges[(caller, row)] = edges.GetValueOrDefault((caller, row)) + g.Cumulative[n];
            }
        }

        Assert.True(recursive > 0 || g.Count < r.Tree.Count, "the profile should exercise recursion or merging siblings");
        Assert.Equal(location, t.Location);
        Assert.Equal(line, t.Line);
        Assert.Equal(flat, t.Flat);
        Assert.Equal(cumulative, t.Cumulative);
        Assert.Equal(r.IsDiff ? flat.Zip(flatBase, r.DiffOf).ToArray() : new long[t.Count], t.FlatDiff);
        Assert.Equal(r.IsDiff ? cumulative.Zip(cumulativeBase, r.DiffOf).ToArray() : new long[t.Count], t.CumulativeDiff);
        var actual = new SortedDictionary<(int Caller, int Callee), long>();
        for (var row = 0; row < t.Count; row++)
        {
            var callees = t.Callees(row).ToArray();
            var values = t.CalleeValues(row).ToArray();
            Assert.Equal(callees.Order(), callees);
            for (var k = 0; k < callees.Length; k++)
            {
                actual.Add((row, callees[k]), values[k]);
            }

            Assert.Equal(edges.Keys.Where(e => e.Callee == row).Select(e => e.Caller), t.Callers(row).ToArray());
        }

        Assert.Equal(edges, actual);
    }
}
