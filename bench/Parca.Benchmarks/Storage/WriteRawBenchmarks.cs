using BenchmarkDotNet.Attributes;
using Parca.Ingest;
using Parca.LoadGen;
using Parca.Storage;

namespace Parca.Benchmarks.Storage;

/// <summary>
/// The whole server-side ingest of one WriteRaw profile without the RPC layer: Parca's validation, pprof decode
/// (inflate + parse), the adapter, content hashing and the append, in steady state (the head already holds the
/// fleet's symbols and stacks, as it does seconds after start).
/// </summary>
[MemoryDiagnoser]
public class WriteRawBenchmarks
{
    private byte[][] _payloads = [];
    private ProfileStore _store = null!;
    private ProfileWriter _writer = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var w = new Workload();
        var rng = new Random(1);
        _payloads = Enumerable.Range(0, 16).Select(i => w.Pprof(rng, 1_000_000_000L * i, 8)).ToArray();
        _store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero, ActiveMemoryBytes = 4L << 30 });
        _writer = new ProfileWriter(_store);
        foreach (var p in _payloads)
        {
            _writer.Write([new WriteSeries([new("__name__", "parca_agent"), new("node", "n-0")], [new WriteSample(p, null)])]);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _store.Dispose();

    /// <summary>One gzipped 8-core window (≈ 650 samples, ≈ 2,900 locations, 132 KB).</summary>
    [Benchmark]
    public long WriteRawProfile()
    {
        var i = _next++;
        return _writer.Write([new WriteSeries([new("__name__", "parca_agent"), new("node", $"n-{i % 100}")], [new WriteSample(_payloads[i & 15], null)])]);
    }
}
