using BenchmarkDotNet.Attributes;
using Parca.Ingest;
using Parca.LoadGen;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Arrow;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Server;
using Parca.Storage;
using QueryService = Parca.Server.Services.QueryService;

namespace Parca.Benchmarks.Query;

/// <summary>
/// The cold report path on a large.cpu-sized profile (20k stacks, 425k call-tree nodes): what QueryService does for
/// a selection the report cache has not seen (merge + frame graph + table + encoding), per report type, and each
/// phase alone. Issue 17's goals: untrimmed FLAMEGRAPH_ARROW ≤ 150 ms end to end, TOP and TABLE_ARROW ≤ 50 ms.
/// The store also holds a second, unrelated profile (as a head partition of a real server does), so the merge scans
/// a partition tree larger than the selection. <see cref="AddressesPerFunction"/> 1 is the profile of bench/README.md
/// (a location per function); 4 gives each function four addresses, picked at random per frame, so frame-graph
/// siblings merge as in real CPU profiles (the location tree then has about 2.5× the graph's nodes). Setup prints a
/// SHA-256 of the untrimmed FLAMEGRAPH_ARROW and TABLE_ARROW records, so two builds can be shown to send the same bytes.
/// </summary>
[MemoryDiagnoser]
public class ReportBenchmarks
{
    private const long Time = 1_700_000_000_000_000_000;
    private const string Query = "cpu:samples:count:cpu:nanoseconds:delta{job=\"large\"}";
    private ProfileStore _store = null!;
    private QueryEngine _engine = null!;
    private QueryService _handler = null!;
    private MergeResult _merged = null!;
    private FlameGraph _graph = null!;

    [Params(1, 4)]
    public int AddressesPerFunction { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero });
        var writer = new ProfileWriter(_store);
        writer.Write([new WriteSeries([new("__name__", "cpu"), new("job", "large")], [new WriteSample(Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(425_000, timeNanos: Time, addressesPerFunction: AddressesPerFunction)), null)])]);
        writer.Write([new WriteSeries([new("__name__", "cpu"), new("job", "other")], [new WriteSample(Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(200_000, seed: 5, timeNanos: Time)), null)])]);
        _engine = new QueryEngine(_store);
        _handler = new QueryService(_engine, new ParcaServerOptions(), new ReportLimits(1L << 32, 256 * 1024 * 1024));
        _merged = Merge();
        _graph = FlameGraph.Build(_merged);
        var flame = _handler.Execute(Request(QueryRequest.Types.ReportType.FlamegraphArrow)).FlamegraphArrow.Record.Span;
        var table = _handler.Execute(Request(QueryRequest.Types.ReportType.TableArrow)).TableArrow.Record.Span;
        Console.WriteLine($"// {AddressesPerFunction} address(es) per function: {_merged.Tree.Count:N0} result nodes, {_graph.Count:N0} graph nodes; " +
            $"FLAMEGRAPH_ARROW {flame.Length:N0} B sha256 {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(flame))[..16]}, " +
            $"TABLE_ARROW {table.Length:N0} B sha256 {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(table))[..16]}");
    }

    [GlobalCleanup]
    public void Cleanup() => _store.Dispose();

    private static QueryRequest Request(QueryRequest.Types.ReportType type) => new()
    {
        Mode = QueryRequest.Types.Mode.Merge,
        Merge = new MergeProfile { Query = Query, Start = QueryService.ToTimestamp(Time - 1), End = QueryService.ToTimestamp(Time + 1) },
        ReportType = type,
    };

    [Benchmark]
    public MergeResult Merge() => _engine.Query(ProfileSelection.Merge(Query, Time - 1, Time + 1));

    [Benchmark]
    public int FrameGraphPhase() => FlameGraph.Build(_merged).Count;

    [Benchmark]
    public int TablePhase() => TopTable.Build(_merged).Count;

    [Benchmark]
    public int FlameArrowPhase() => FlameGraphArrow.Build(_graph, _graph.Trim(0).Kept).Record.Length;

    [Benchmark]
    public int ColdFlamegraphArrowUntrimmed() => _handler.Execute(Request(QueryRequest.Types.ReportType.FlamegraphArrow)).FlamegraphArrow.Record.Length;

    [Benchmark]
    public int ColdTop()
    {
        using var encoded = _handler.ExecuteEncoded(Request(QueryRequest.Types.ReportType.Top));
        return encoded.Bytes.Length;
    }

    [Benchmark]
    public int ColdTableArrow() => _handler.Execute(Request(QueryRequest.Types.ReportType.TableArrow)).TableArrow.Record.Length;
}
