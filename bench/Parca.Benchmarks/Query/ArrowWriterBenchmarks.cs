using BenchmarkDotNet.Attributes;
using Parca.Ingest;
using Parca.LoadGen;
using Parca.Query.Arrow;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;

namespace Parca.Benchmarks.Query;

/// <summary>
/// Our hand-written Arrow IPC writer against Apache.Arrow 23 on the two Arrow reports of a large.cpu-sized profile
/// (425k flame-graph nodes, 8k table rows): the same columns written by each, so the difference is the writer alone.
/// Setup checks that both records decode (Apache.Arrow's reader) to the same row count.
/// </summary>
[MemoryDiagnoser]
public class ArrowWriterBenchmarks
{
    private List<ArrowColumn> _flame = null!;
    private List<ArrowColumn> _table = null!;

    [Params("FLAMEGRAPH_ARROW", "TABLE_ARROW")]
    public string Report { get; set; } = "";

    private List<ArrowColumn> Columns => Report == "TABLE_ARROW" ? _table : _flame;

    [GlobalSetup]
    public void Setup()
    {
        var t = 1_700_000_000_000_000_000;
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero });
        new ProfileWriter(store).Write([new WriteSeries([new("__name__", "cpu")], [new WriteSample(Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(425_000, timeNanos: t)), null)])]);
        var r = new QueryEngine(store).Query(ProfileSelection.Merge("cpu:samples:count:cpu:nanoseconds:delta{}", t - 1, t + 1));
        var g = FlameGraph.Build(r);
        _flame = FlameGraphArrow.Columns(g, g.Trim(0).Kept).Columns;
        _table = TableArrowReport.Columns(TopTable.Build(r), r);
        foreach (var columns in new[] { _flame, _table })
        {
            var ours = Rows(ArrowIpcWriter.Write(columns));
            var theirs = Rows(ApacheArrowWriter.Write(columns));
            if (ours != theirs || ours != columns[0].Length)
            {
                throw new InvalidOperationException($"the writers disagree: ours {ours} rows, Apache.Arrow {theirs}, columns {columns[0].Length}");
            }
        }
    }

    private static int Rows(byte[] ipc)
    {
        using var reader = new Apache.Arrow.Ipc.ArrowStreamReader(new MemoryStream(ipc));
        using var batch = reader.ReadNextRecordBatch();
        return batch.Length;
    }

    [Benchmark(Baseline = true)]
    public int Ours() => ArrowIpcWriter.Write(Columns).Length;

    [Benchmark]
    public int ApacheArrow() => ApacheArrowWriter.Write(Columns).Length;
}
