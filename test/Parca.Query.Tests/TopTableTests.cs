using System.Text.Json;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Arrow;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;
using static Parca.Query.Tests.Fixtures;

namespace Parca.Query.Tests;

/// <summary>
/// The per-function table under recursion and repeated call paths: cumulative counts a stack once per function, edges
/// carry the value flowing from caller to callee summed over every place the pair occurs, and the Arrow table's
/// callers/callees lists are the distinct neighbours in row order.
/// </summary>
public sealed class TopTableTests : IDisposable
{
    private const long Ms10 = 10_000_000; // one sample of the fixture's CPU profiles
    private readonly ProfileStore _store = Store();
    private readonly QueryEngine _engine;

    public TopTableTests()
    {
        _store.Append("process_cpu", LabelSet.From(("job", "api")), Cpu(10 * Second, ("main;a;b;a", 5), ("main;a;b", 3), ("main;b;a", 2), ("main;a", 1)));
        _engine = new QueryEngine(_store);
    }

    public void Dispose() => _store.Dispose();

    private MergeResult Merge() => _engine.Query(ProfileSelection.Merge(CpuSamples, 0, 20 * Second));

    [Fact]
    public void Recursive_functions_count_each_stack_once_and_edges_sum_every_occurrence()
    {
        var r = Merge();
        var cg = ReportPipeline.Build(QueryRequest.Types.ReportType.Callgraph, r, 0, ReportLimits.Default).Callgraph;
        var name = cg.Nodes.ToDictionary(n => n.Id, n => n.Meta.Function.Name);
        var nodes = cg.Nodes.ToDictionary(n => n.Meta.Function.Name, n => (n.Flat / Ms10, n.Cumulative / Ms10));
        Assert.Equal((0L, 11L), nodes["main"]);
        Assert.Equal((8L, 11L), nodes["a"]); // a is in every stack, twice in main;a;b;a
        Assert.Equal((3L, 10L), nodes["b"]);
        var edges = cg.Edges.ToDictionary(e => name[e.Source] + "->" + name[e.Target], e => e.Cumulative / Ms10);
        Assert.Equal(new Dictionary<string, long>
        {
            ["main->a"] = 9,
            ["main->b"] = 2,
            ["a->b"] = 8,
            ["b->a"] = 7, // main;a;b;a (5) and main;b;a (2)
        }, edges);
    }

    [Fact]
    public void Table_arrow_lists_distinct_callers_and_callees_in_row_order()
    {
        var r = Merge();
        var table = ArrowReader.Read(TableArrowReport.Build(TopTable.Build(r), r));
        var rows = table.GetProperty("rows").EnumerateArray().ToArray();
        var names = rows.Select(x => x.GetProperty("function_name").GetString()!).ToArray();
        string[] Names(JsonElement row, string column)
        {
            var ids = row.GetProperty(column).EnumerateArray().Select(c => int.Parse(c.ToString())).ToArray();
            Assert.Equal(ids.Order().ToArray(), ids);
            return ids.Select(i => names[i]).ToArray();
        }

        var byName = rows.ToDictionary(x => x.GetProperty("function_name").GetString()!);
        Assert.Equal(["a", "b"], Names(byName["main"], "callees"));
        Assert.Empty(Names(byName["main"], "callers"));
        Assert.Equal(["main", "b"], Names(byName["a"], "callers")); // main is row 0, the first frame of every stack
        Assert.Equal(["b"], Names(byName["a"], "callees"));
        Assert.Equal(["a"], Names(byName["b"], "callees"));
        Assert.Equal("110000000", byName["a"].GetProperty("cumulative").ToString());
        Assert.Equal("80000000", byName["a"].GetProperty("flat").ToString());
    }

    [Fact]
    public void Boolean_columns_of_any_length_keep_every_bit()
    {
        // 8 bools pack into a byte at a time, the rest one by one: 21 rows cover both, with nulls between.
        var values = Enumerable.Range(0, 21).Select(i => i % 3 == 0 || i == 20).ToArray();
        var valid = Enumerable.Range(0, 21).Select(i => i != 7 && i != 16).ToArray();
        var record = ArrowIpcWriter.Write([new BoolColumn("b", values, valid), new IntColumn("i", 16, true, Enumerable.Range(0, 21).Select(i => (long)(i * 1000 - 7000)).ToArray())]);
        var rows = ArrowReader.Read(record).GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(21, rows.Length);
        for (var i = 0; i < 21; i++)
        {
            var b = rows[i].GetProperty("b");
            Assert.Equal(valid[i] ? (values[i] ? JsonValueKind.True : JsonValueKind.False) : JsonValueKind.Null, b.ValueKind);
            Assert.Equal((i * 1000) - 7000, rows[i].GetProperty("i").GetInt32());
        }
    }
}
