using System.Diagnostics.Metrics;

namespace Parca.Scrape;

/// <summary>
/// The scraper's instruments on the <see cref="MeterName"/> meter (the forwarder and the config reloader create
/// theirs on the same meter; the server exports every meter whose name starts with <c>Parca</c>).
/// </summary>
public sealed class ScrapeMetrics : IDisposable
{
    public const string MeterName = "Parca.Scrape";

    private readonly Meter _meter;

    public ScrapeMetrics(IMeterFactory factory)
    {
        _meter = factory.Create(MeterName);
        Duration = _meter.CreateHistogram<double>("parca_scrape_duration_seconds", "s", "Time to fetch, check and write one profile, by job and profile.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 15, 30, 60] });
        Failures = _meter.CreateCounter<long>("parca_scrape_failures_total", null, "Scrapes that failed, by job, profile and reason.");
        Samples = _meter.CreateCounter<long>("parca_scrape_samples_total", null, "Samples in the profiles scraped, by job and profile.");
        Bytes = _meter.CreateCounter<long>("parca_scrape_bytes_total", "By", "Bytes of the profiles scraped (as received), by job and profile.");
    }

    public Histogram<double> Duration { get; }

    public Counter<long> Failures { get; }

    public Counter<long> Samples { get; }

    public Counter<long> Bytes { get; }

    public void Dispose() => _meter.Dispose();
}
