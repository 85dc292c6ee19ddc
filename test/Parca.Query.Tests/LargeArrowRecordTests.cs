using Apache.Arrow;
using Apache.Arrow.Ipc;
using Parca.Ingest;
using Parca.LoadGen;
using Parca.Query.Arrow;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;

namespace Parca.Query.Tests;

/// <summary>
/// A flame graph large enough that its row columns and its Arrow buffers are filled in parallel (150k nodes, with
/// four addresses per function so siblings merge): every row read back by Apache.Arrow's reader is the graph node
/// it stands for, with its function, parent, values and children.
/// </summary>
public sealed class LargeArrowRecordTests
{
    [Fact]
    public void Every_row_of_a_large_flame_graph_record_is_its_graph_node()
    {
        const long t = 1_700_000_000_000_000_000;
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero });
        var profile = Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(150_000, timeNanos: t, addressesPerFunction: 4));
        new ProfileWriter(store).Write([new WriteSeries([new("__name__", "cpu")], [new WriteSample(profile, null)])]);
        var r = new QueryEngine(store).Query(ProfileSelection.Merge("cpu:samples:count:cpu:nanoseconds:delta{}", t - 1, t + 1));
        var g = FlameGraph.Build(r);
        Assert.True(g.Count > 150_000 && r.Tree.Count > g.Count, $"{r.Tree.Count} result nodes, {g.Count} graph nodes: siblings should have merged");
        var (kept, _) = g.Trim(0);
        var (record, height) = FlameGraphArrow.Build(g, kept);

        using var reader = new ArrowStreamReader(new MemoryStream(record));
        using var batch = reader.ReadNextRecordBatch();
        Assert.Equal(g.Count, batch.Length);
        var names = (DictionaryArray)batch.Column("function_name");
        var nameIndex = (Int32Array)names.Indices;
        var dictionary = (BinaryArray)names.Dictionary;
        var parent = (Int32Array)batch.Column("parent");
        var children = (ListArray)batch.Column("children");
        var childRows = (UInt32Array)children.Values;
        var maxDepth = 0;
        for (var i = 0; i < g.Count; i++)
        {
            Assert.Equal(g.Cumulative[i], Int(batch.Column("cumulative"), i));
            Assert.Equal(g.Flat[i], Int(batch.Column("flat"), i));
            Assert.Equal(g.Depth[i], Int(batch.Column("depth"), i));
            Assert.Equal(g.Parent[i], parent.GetValue(i));
            maxDepth = Math.Max(maxDepth, g.Depth[i]);
            if (i > 0)
            {
                Assert.Equal(g.FunctionName(i), System.Text.Encoding.UTF8.GetString(dictionary.GetBytes(nameIndex.GetValue(i)!.Value)));
            }

            for (var k = children.ValueOffsets[i]; k < children.ValueOffsets[i + 1]; k++)
            {
                Assert.Equal(i, g.Parent[(int)childRows.GetValue(k)!.Value]);
            }
        }

        Assert.Equal(g.Count - 1, childRows.Length); // every node but the root is listed once, under its parent
        Assert.Equal(maxDepth + 1, height);
    }

    private static long Int(IArrowArray a, int i) => a switch
    {
        UInt8Array x => x.GetValue(i)!.Value,
        UInt16Array x => x.GetValue(i)!.Value,
        UInt32Array x => x.GetValue(i)!.Value,
        UInt64Array x => (long)x.GetValue(i)!.Value,
        _ => throw new InvalidOperationException(a.GetType().Name),
    };
}
