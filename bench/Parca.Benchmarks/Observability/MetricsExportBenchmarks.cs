using System.Buffers;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Parca.Hosting.Metrics;
using Prometheus;

namespace Parca.Benchmarks.Observability;

/// <summary>
/// One /metrics scrape of a server-sized meter (40 counters × 6 label sets, 8 histograms × 6 label sets, 10 observable
/// gauges), rendered to Prometheus text by our exporter and by prometheus-net 8.2.1's MeterAdapter (the served
/// alternative), listening to the same meter in one process.
/// </summary>
[MemoryDiagnoser]
public class MetricsExportBenchmarks
{
    private readonly MemoryStream _stream = new();
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private Meter _meter = null!;
    private PrometheusExporter _ours = null!;
    private CollectorRegistry _registry = null!;
    private IDisposable _adapter = null!;

    [GlobalSetup]
    public void Setup()
    {
        _meter = new Meter("Parca.Bench.Metrics");
        _ours = new PrometheusExporter(m => ReferenceEquals(m, _meter));
        _registry = Metrics.NewCustomRegistry();
        _adapter = MeterAdapter.StartListening(new MeterAdapterOptions { InstrumentFilterPredicate = i => ReferenceEquals(i.Meter, _meter), Registry = _registry });
        string[] routes = ["/query", "/query_range", "/labels", "/values", "/write_raw", "/metrics"];
        for (var c = 0; c < 40; c++)
        {
            var counter = _meter.CreateCounter<long>($"parca_bench_counter_{c}_total", null, "A counter of the benchmark.");
            foreach (var route in routes)
            {
                counter.Add(c + 1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("code", "200"));
            }
        }

        for (var h = 0; h < 8; h++)
        {
            var histogram = _meter.CreateHistogram<double>($"parca_bench_histogram_{h}_seconds", "s", "A histogram of the benchmark.");
            foreach (var route in routes)
            {
                for (var i = 0; i < 20; i++)
                {
                    histogram.Record(i * 0.013, new KeyValuePair<string, object?>("route", route));
                }
            }
        }

        for (var g = 0; g < 10; g++)
        {
            var value = g * 1000L;
            _meter.CreateObservableGauge($"parca_bench_gauge_{g}", () => value, null, "A gauge of the benchmark.");
        }
    }

    /// <summary>Into a reused buffer, as the server writes into the response pipe (prometheus-net: a reused stream).</summary>
    [Benchmark(Baseline = true)]
    public int OurExporter()
    {
        _buffer.ResetWrittenCount();
        _ours.WriteTo(_buffer);
        return _buffer.WrittenCount;
    }

    [Benchmark]
    public async Task<long> PrometheusNet()
    {
        _stream.SetLength(0);
        await _registry.CollectAndExportAsTextAsync(_stream);
        return _stream.Length;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _adapter.Dispose();
        _ours.Dispose();
        _meter.Dispose();
    }
}
