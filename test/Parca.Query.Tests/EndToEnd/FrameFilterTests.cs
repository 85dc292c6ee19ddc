using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;

namespace Parca.Query.Tests.EndToEnd;

/// <summary>
/// Frame filters hide single inlined functions of a location (Parca nulls non-matching lines), in every report.
/// parca/fib.pb.gz is a real Go CPU profile with inlined frames, e.g. one location holds math/big.nat.make inlined
/// into math/big.nat.add, another math/big.nat.norm inlined into math/big.nat.add. The expected stacks are those of
/// <c>go tool pprof -raw</c> on the same file with the hidden functions taken out of every stack.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class FrameFilterTests(ServerFixture server)
{
    private const string File = "parca/fib.pb.gz";
    private const string Type = ServerFixture.Name + ":samples:count:cpu:nanoseconds:delta";
    private const string Make = "math/big.nat.make";
    private const string Add = "math/big.nat.add";
    private const string Norm = "math/big.nat.norm";

    private static Dictionary<string, long> Expected(Func<string, bool> shown)
    {
        var result = new Dictionary<string, long>();
        foreach (var (stack, value) in GoPprof.RawStacks(Path.Combine(ServerFixture.PprofDir, File), 1))
        {
            var key = string.Join(";", stack.Split(';').Where(shown));
            result[key] = result.GetValueOrDefault(key) + value;
        }

        return result;
    }

    private async Task<QueryResponse> Query(QueryRequest.Types.ReportType report, StringCondition condition) =>
        await server.Channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = new MergeProfile { Query = Type + $"{{file=\"{File}\"}}", Start = new Timestamp(), End = new Timestamp { Seconds = 4_000_000_000 } },
            ReportType = report,
            Filter = { new Filter { FrameFilter = new FrameFilter { Criteria = new FilterCriteria { FunctionName = condition } } } },
        });

    public static TheoryData<string> HiddenFunctions() => [Make, Add];

    [Fact]
    public void The_profile_has_the_inlined_frames_these_tests_rely_on()
    {
        var stacks = GoPprof.RawStacks(Path.Combine(ServerFixture.PprofDir, File), 1);
        Assert.Contains(stacks.Keys, s => s.Contains(Add + ";" + Make, StringComparison.Ordinal));
        Assert.Contains(stacks.Keys, s => s.Contains(Add + ";" + Norm, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(HiddenFunctions))]
    public async Task Pprof_report_drops_only_the_hidden_lines(string hidden)
    {
        var expected = Expected(f => f != hidden);
        var response = await Query(QueryRequest.Types.ReportType.Pprof, new StringCondition { NotEqual = hidden });
        var exported = Path.Combine(Path.GetTempPath(), $"parca-frame-filter-{Guid.NewGuid():N}.pb.gz");
        await System.IO.File.WriteAllBytesAsync(exported, response.Pprof.ToByteArray());
        try
        {
            var actual = GoPprof.RawStacks(exported);
            Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(0, response.Filtered);
            Assert.Equal(expected.Values.Sum(), response.Total);
        }
        finally
        {
            System.IO.File.Delete(exported);
        }
    }

    [Theory]
    [MemberData(nameof(HiddenFunctions))]
    public async Task Flame_graph_table_has_the_filtered_stacks(string hidden)
    {
        var response = await Query(QueryRequest.Types.ReportType.FlamegraphTable, new StringCondition { NotEqual = hidden });
        var actual = new Dictionary<string, long>();
        void Walk(FlamegraphNode node, string path)
        {
            var key = path.Length == 0 ? node.Meta.Function.Name : path + ";" + node.Meta.Function.Name;
            var flat = node.Cumulative - node.Children.Sum(c => c.Cumulative);
            if (flat != 0)
            {
                actual[key] = flat;
            }

            foreach (var c in node.Children)
            {
                Walk(c, key);
            }
        }

        foreach (var c in response.Flamegraph.Root.Children)
        {
            Walk(c, "");
        }

        Assert.Equal(Merged(Expected(f => f != hidden)), actual.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(HiddenFunctions))]
    public async Task Flame_graph_arrow_has_the_filtered_stacks(string hidden)
    {
        var response = await Query(QueryRequest.Types.ReportType.FlamegraphArrow, new StringCondition { NotEqual = hidden });
        var rows = ArrowReader.Read(response.FlamegraphArrow.Record.ToByteArray()).GetProperty("rows").EnumerateArray().ToArray();
        var actual = new Dictionary<string, long>();
        for (var i = 1; i < rows.Length; i++)
        {
            var flat = long.Parse(rows[i].GetProperty("flat").ToString(), System.Globalization.CultureInfo.InvariantCulture);
            if (flat == 0)
            {
                continue;
            }

            var names = new List<string>();
            for (var n = i; n > 0; n = rows[n].GetProperty("parent").GetInt32())
            {
                names.Add(rows[n].GetProperty("function_name").GetString()!);
            }

            names.Reverse();
            actual[string.Join(";", names)] = flat;
        }

        Assert.Equal(Merged(Expected(f => f != hidden)), actual.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.DoesNotContain(rows, r => r.GetProperty("function_name").ValueKind == JsonValueKind.String && r.GetProperty("function_name").GetString() == hidden);
        if (hidden == Add)
        {
            // Their location's own function (nat.add) is hidden: what remains of it are inlined functions.
            var make = rows.Where(r => r.GetProperty("function_name").ValueKind == JsonValueKind.String && r.GetProperty("function_name").GetString() == Make).ToArray();
            Assert.NotEmpty(make);
            Assert.All(make, r => Assert.True(r.GetProperty("inlined").GetBoolean()));
        }
    }

    [Theory]
    [MemberData(nameof(HiddenFunctions))]
    public async Task Top_table_arrow_and_callgraph_leave_out_the_hidden_function(string hidden)
    {
        var expected = Expected(f => f != hidden);
        var flat = new Dictionary<string, long>();
        var cumulative = new Dictionary<string, long>();
        foreach (var (stack, value) in expected)
        {
            var frames = stack.Split(';');
            flat[frames[^1]] = flat.GetValueOrDefault(frames[^1]) + value;
            foreach (var f in frames.Distinct())
            {
                cumulative[f] = cumulative.GetValueOrDefault(f) + value;
            }
        }

        var top = (await Query(QueryRequest.Types.ReportType.Top, new StringCondition { NotEqual = hidden })).Top;
        Assert.Equal(cumulative.Keys.Order(StringComparer.Ordinal), top.List.Select(n => n.Meta.Function.Name).Order(StringComparer.Ordinal));
        Assert.All(top.List, n => Assert.Equal((flat.GetValueOrDefault(n.Meta.Function.Name), cumulative[n.Meta.Function.Name]), (n.Flat, n.Cumulative)));

        var table = ArrowReader.Read((await Query(QueryRequest.Types.ReportType.TableArrow, new StringCondition { NotEqual = hidden })).TableArrow.Record.ToByteArray());
        var tableRows = table.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(cumulative.Keys.Order(StringComparer.Ordinal), tableRows.Select(r => r.GetProperty("function_name").GetString()!).Order(StringComparer.Ordinal));
        Assert.All(tableRows, r => Assert.Equal(
            flat.GetValueOrDefault(r.GetProperty("function_name").GetString()!),
            long.Parse(r.GetProperty("flat").ToString(), System.Globalization.CultureInfo.InvariantCulture)));

        var callgraph = (await Query(QueryRequest.Types.ReportType.Callgraph, new StringCondition { NotEqual = hidden })).Callgraph;
        Assert.Equal(cumulative.Keys.Order(StringComparer.Ordinal), callgraph.Nodes.Select(n => n.Meta.Function.Name).Order(StringComparer.Ordinal));
        var names = callgraph.Nodes.ToDictionary(n => n.Id, n => n.Meta.Function.Name);
        var edges = expected.Keys.SelectMany(s =>
        {
            var f = s.Split(';');
            return f.Zip(f.Skip(1)).Where(e => e.First != e.Second);
        }).ToHashSet();
        Assert.Equal(edges.Count, callgraph.Edges.Count);
        Assert.All(callgraph.Edges, e => Assert.Contains((names[e.Source], names[e.Target]), edges));
    }

    [Fact]
    public async Task Positive_condition_keeps_one_inlined_function_of_a_location()
    {
        // Only nat.add is shown: nat.make and nat.norm vanish from the locations they were inlined into.
        var response = await Query(QueryRequest.Types.ReportType.Pprof, new StringCondition { Equal = Add });
        var exported = Path.Combine(Path.GetTempPath(), $"parca-frame-filter-{Guid.NewGuid():N}.pb.gz");
        await System.IO.File.WriteAllBytesAsync(exported, response.Pprof.ToByteArray());
        try
        {
            var expected = Expected(f => f == Add).Where(kv => kv.Key.Length > 0).ToDictionary();
            var actual = GoPprof.RawStacks(exported).Where(kv => kv.Key.Length > 0).ToDictionary();
            Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), actual.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            Assert.Equal(expected.Values.Sum() + Expected(f => f == Add).GetValueOrDefault(""), response.Total);
        }
        finally
        {
            System.IO.File.Delete(exported);
        }
    }

    private static IOrderedEnumerable<KeyValuePair<string, long>> Merged(Dictionary<string, long> stacks) =>
        stacks.Where(kv => kv.Value != 0).OrderBy(kv => kv.Key, StringComparer.Ordinal);
}
