using System.Diagnostics;
using Parca.Hosting;

namespace Parca.Scrape;

/// <summary>
/// Spans for scrapes (one per target per interval, with job, profile and URL). The server's tracing exports this
/// source when <c>--otlp-address</c> is set; without a listener starting a span costs nothing.
/// </summary>
public static class ScrapeTracing
{
    public const string SourceName = "Parca.Scrape";

    internal static readonly ActivitySource Source = new(SourceName, ParcaVersion.Version);
}
