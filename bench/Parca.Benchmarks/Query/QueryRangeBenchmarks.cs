using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Storage;
using Parca.Storage.Ingest;
using QueryService = Parca.Server.Services.QueryService;

namespace Parca.Benchmarks.Query;

/// <summary>
/// QueryRange at the size of the goal: 24 h × 100 series at 10 s (864,000 profiles, 864,000 points with
/// sum_by instance), from compacted blocks and from the head. QueryRange reads only profile rows, so each profile
/// carries a few samples (setup stays short); the row count is what matters. <c>Engine</c> is the query engine alone,
/// <c>Service</c> adds QueryService's response message, <c>ServiceBytes</c> also serializes it, <c>ServiceEncoded</c> writes the
/// wire bytes directly (what gRPC, gRPC-Web and Connect proto callers get since the pre-encoded response).
/// </summary>
[MemoryDiagnoser]
public class QueryRangeBenchmarks
{
    private const string Query = "parca_agent:samples:count:cpu:nanoseconds:delta{job=\"svc\"}";
    private const long Step = 10_000_000_000;
    private const int Series = 100;
    private const int Timestamps = 24 * 360;
    private ProfileStore _store = null!;
    private QueryEngine _engine = null!;
    private QueryRangeRequest _request = null!;
    private byte[] _buffer = [];
    private long _end;

    [Params(true, false)]
    public bool Compacted { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var variants = new IngestProfile[16];
        for (var v = 0; v < variants.Length; v++)
        {
            var b = new IngestBuilder(("samples", "count")) { Period = 52_631_578, DurationNanos = Step };
            b.Sample("main;run;work" + (v % 4), 1 + v);
            b.Sample("main;run;gc", 2 + (v % 3));
            variants[v] = b.Build();
        }

        var labels = Enumerable.Range(0, Series).Select(s => LabelSet.From(("job", "svc"), ("instance", $"i-{s}"))).ToArray();
        _store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero, ActiveMemoryBytes = 8L << 30 });
        for (var t = 0; t < Timestamps; t++)
        {
            for (var s = 0; s < Series; s++)
            {
                var p = variants[(t + s) & 15];
                p.TimeNanos = t * Step;
                _store.Append("parca_agent", labels[s], p);
            }
        }

        if (Compacted)
        {
            _store.FlushAsync().GetAwaiter().GetResult();
        }

        _end = (Timestamps - 1) * Step;
        _engine = new QueryEngine(_store);
        _request = new QueryRangeRequest
        {
            Query = Query,
            Start = new Timestamp(),
            End = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddTicks(_end / 100)),
            Step = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
        };
        _request.SumBy.Add("instance");
        _buffer = new byte[QueryService.QueryRange(_engine, _request).CalculateSize() * 2];
    }

    [GlobalCleanup]
    public void Cleanup() => _store.Dispose();

    [Benchmark]
    public int Engine() => _engine.QueryRange(Query, 0, _end, Step, ["instance"]).Count;

    [Benchmark]
    public int Service() => QueryService.QueryRange(_engine, _request).Series.Count;

    [Benchmark]
    public int ServiceBytes()
    {
        var response = QueryService.QueryRange(_engine, _request);
        var size = response.CalculateSize();
        response.WriteTo(_buffer.AsSpan(0, size));
        return size;
    }

    /// <summary>What the gRPC handler now does: the response's wire bytes straight from the engine's result.</summary>
    [Benchmark]
    public int ServiceEncoded()
    {
        using var encoded = QueryService.QueryRangeEncoded(_engine, _request);
        return encoded.Bytes.Length;
    }
}
