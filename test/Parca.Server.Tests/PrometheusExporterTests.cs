using System.Buffers;
using System.Diagnostics.Metrics;
using Parca.Hosting.Metrics;

namespace Parca.Server.Tests;

/// <summary>The /metrics exporter of server and agent on its own meter: the exact text, and what a scrape costs.</summary>
public sealed class PrometheusExporterTests : IDisposable
{
    private readonly Meter _meter = new("Parca.Test.Exporter");
    private readonly PrometheusExporter _exporter;

    public PrometheusExporterTests() => _exporter = new PrometheusExporter(m => ReferenceEquals(m, _meter));

    [Fact]
    public void Renders_counters_histograms_and_gauges_sorted_with_escaped_labels()
    {
        var requests = _meter.CreateCounter<long>("parca_test_requests", null, "Requests, by route and code.");
        requests.Add(2, new("route", "/query"), new("code", 200));
        requests.Add(3, new("code", 200), new("route", "/query")); // same series whatever the tag order
        requests.Add(1, new("route", "a\"b\\c\nd"), new("code", 500));
        var duration = _meter.CreateHistogram<double>("parca_test_duration", "s", "Time.\nSecond line.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 1] });
        duration.Record(0.05);
        duration.Record(0.5);
        duration.Record(7);
        var shown = true;
        _meter.CreateObservableGauge<long>("parca_test_targets", () => shown
            ? [new(3, new KeyValuePair<string, object?>("job", "go")), new(1, new KeyValuePair<string, object?>("job", "node"))]
            : [new(4, new KeyValuePair<string, object?>("job", "go"))], null, "Targets, by job.");

        Assert.Equal(
            """
            # HELP parca_test_duration_seconds Time.\nSecond line.
            # TYPE parca_test_duration_seconds histogram
            parca_test_duration_seconds_bucket{le="0.1"} 1
            parca_test_duration_seconds_bucket{le="1"} 2
            parca_test_duration_seconds_bucket{le="+Inf"} 3
            parca_test_duration_seconds_sum 7.55
            parca_test_duration_seconds_count 3
            # HELP parca_test_requests_total Requests, by route and code.
            # TYPE parca_test_requests_total counter
            parca_test_requests_total{code="200",route="/query"} 5
            parca_test_requests_total{code="500",route="a\"b\\c\nd"} 1
            # HELP parca_test_targets Targets, by job.
            # TYPE parca_test_targets gauge
            parca_test_targets{job="go"} 3
            parca_test_targets{job="node"} 1

            """.ReplaceLineEndings("\n"),
            _exporter.Render());

        // An observable's label set that is no longer reported is gone from the next scrape.
        shown = false;
        Assert.EndsWith("# TYPE parca_test_targets gauge\nparca_test_targets{job=\"go\"} 4\n", _exporter.Render(), StringComparison.Ordinal);
    }

    [Fact]
    public void Recording_into_existing_series_and_rendering_allocate_nothing()
    {
        var requests = _meter.CreateCounter<long>("parca_test_requests", null, "Requests.");
        var duration = _meter.CreateHistogram<double>("parca_test_duration", "s", "Time.");
        string[] routes = ["/query", "/labels", "/values"];
        object ok = 200; // boxed once: boxing at each call would be the caller's allocation, not the exporter's
        foreach (var route in routes)
        {
            requests.Add(1, new("route", route), new("code", ok));
            duration.Record(0.2, new KeyValuePair<string, object?>("route", route));
        }

        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        _exporter.WriteTo(buffer); // first render sorts instruments and series once

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            requests.Add(1, new("route", routes[i % 3]), new("code", ok));
            duration.Record(0.2, new KeyValuePair<string, object?>("route", routes[i % 3]));
        }

        var recorded = GC.GetAllocatedBytesForCurrentThread() - before;
        buffer.ResetWrittenCount();
        before = GC.GetAllocatedBytesForCurrentThread();
        _exporter.WriteTo(buffer);
        var rendered = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal((0L, 0L), (recorded, rendered));
        Assert.Contains("parca_test_requests_total{code=\"200\",route=\"/labels\"} 334\n", System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _exporter.Dispose();
        _meter.Dispose();
    }
}
