using System.Text.Json;
using Parca.Query.Arrow;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;
using static Parca.Query.Tests.Fixtures;

namespace Parca.Query.Tests;

public sealed class ArrowTests : IDisposable
{
    private readonly ProfileStore _store = Store();
    private readonly QueryEngine _engine;

    public ArrowTests()
    {
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "1")), Cpu(10 * Second, ("main;work", 3), ("main;work;leaf", 2)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "2")), Cpu(10 * Second, ("main;gc", 4)));
        _engine = new QueryEngine(_store);
    }

    public void Dispose() => _store.Dispose();

    private static Dictionary<string, long> Paths(JsonElement table)
    {
        var rows = table.GetProperty("rows").EnumerateArray().ToArray();
        var result = new Dictionary<string, long>();
        for (var i = 1; i < rows.Length; i++)
        {
            var names = new List<string>();
            for (var n = i; n > 0; n = rows[n].GetProperty("parent").GetInt32())
            {
                var row = rows[n];
                names.Add(row.GetProperty("labels_only").GetBoolean()
                    ? "[" + string.Join(",", row.EnumerateObject().Where(p => p.Name.StartsWith("labels.", StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.String).Select(p => p.Name[7..] + "=" + p.Value.GetString())) + "]"
                    : row.GetProperty("function_name").GetString()!);
            }

            names.Reverse();
            result[string.Join(";", names)] = long.Parse(rows[i].GetProperty("cumulative").ToString());
        }

        return result;
    }

    [Fact]
    public void Flamegraph_arrow_is_read_by_apache_arrow_with_parca_columns()
    {
        var r = _engine.Query(ProfileSelection.Merge(CpuSamples, 0, 20 * Second));
        var g = FlameGraph.Build(r);
        var (kept, trimmed) = g.Trim(0);
        var (record, height) = FlameGraphArrow.Build(g, kept);
        var table = ArrowReader.Read(record);

        Assert.Equal(0, trimmed);
        Assert.Equal(4, height);
        Assert.Equal(
            ["labels_only", "location_address", "mapping_file", "mapping_build_id", "location_line", "inlined", "function_startline", "function_name",
             "function_system_name", "function_file_name", "children", "parent", "cumulative", "flat", "diff", "timestamp", "depth", "value_offset"],
            table.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToArray());
        Assert.Equal(5, table.GetProperty("numRows").GetInt32());
        var root = table.GetProperty("rows")[0];
        Assert.Equal(-1, root.GetProperty("parent").GetInt32());
        Assert.Equal("90000000", root.GetProperty("cumulative").ToString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("function_name").ValueKind);
        Assert.Equal(new Dictionary<string, long>
        {
            ["main"] = 90_000_000,
            ["main;work"] = 50_000_000,
            ["main;work;leaf"] = 20_000_000,
            ["main;gc"] = 40_000_000,
        }, Paths(table));

        // children lists are the row indices whose parent is the row.
        var rows = table.GetProperty("rows").EnumerateArray().ToArray();
        for (var i = 0; i < rows.Length; i++)
        {
            var children = rows[i].GetProperty("children");
            var expected = Enumerable.Range(0, rows.Length).Where(k => rows[k].GetProperty("parent").GetInt32() == i).ToArray();
            Assert.Equal(expected, children.ValueKind == JsonValueKind.Null ? [] : children.EnumerateArray().Select(c => c.GetInt32()).ToArray());
        }
    }

    [Fact]
    public void Flamegraph_arrow_group_by_label_adds_labels_only_rows_and_label_columns()
    {
        var r = _engine.Query(ProfileSelection.Merge(CpuSamples, 0, 20 * Second), new ProfileQueryOptions { GroupBy = ["function_name", "labels.instance"] });
        var g = FlameGraph.Build(r);
        var (record, _) = FlameGraphArrow.Build(g, g.Trim(0).Kept);
        var table = ArrowReader.Read(record);
        Assert.Contains("labels.instance", table.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("name").GetString()));
        Assert.Equal(new Dictionary<string, long>
        {
            ["[instance=1]"] = 50_000_000,
            ["[instance=1];main"] = 50_000_000,
            ["[instance=1];main;work"] = 50_000_000,
            ["[instance=1];main;work;leaf"] = 20_000_000,
            ["[instance=2]"] = 40_000_000,
            ["[instance=2];main"] = 40_000_000,
            ["[instance=2];main;gc"] = 40_000_000,
        }, Paths(table));
    }

    [Fact]
    public void Trimming_drops_small_nodes_and_reports_their_value()
    {
        var r = _engine.Query(ProfileSelection.Merge(CpuSamples, 0, 20 * Second));
        var g = FlameGraph.Build(r);
        var (kept, trimmed) = g.Trim(25f); // 25% of 90ms = 22.5ms: leaf (20ms) goes
        Assert.Equal(20_000_000, trimmed);
        Assert.Equal(4, kept.Count);
    }

    [Fact]
    public void Table_arrow_lists_functions_with_flat_cumulative_callers_and_callees()
    {
        var r = _engine.Query(ProfileSelection.Merge(CpuSamples, 0, 20 * Second));
        var t = TopTable.Build(r);
        var table = ArrowReader.Read(TableArrowReport.Build(t, r));
        var rows = table.GetProperty("rows").EnumerateArray().ToDictionary(x => x.GetProperty("function_name").GetString()!);
        Assert.Equal("90000000", rows["main"].GetProperty("cumulative").ToString());
        Assert.Equal("0", rows["main"].GetProperty("flat").ToString());
        Assert.Equal("50000000", rows["work"].GetProperty("cumulative").ToString());
        Assert.Equal("30000000", rows["work"].GetProperty("flat").ToString());
        var names = table.GetProperty("rows").EnumerateArray().Select(x => x.GetProperty("function_name").GetString()!).ToArray();
        var workCallees = rows["work"].GetProperty("callees").EnumerateArray().Select(c => names[int.Parse(c.ToString())]).ToArray();
        var workCallers = rows["work"].GetProperty("callers").EnumerateArray().Select(c => names[int.Parse(c.ToString())]).ToArray();
        Assert.Equal(new[] { "leaf" }, workCallees);
        Assert.Equal(new[] { "main" }, workCallers);
        Assert.Equal(JsonValueKind.Null, rows["work"].GetProperty("flat_diff").ValueKind);
    }
}
