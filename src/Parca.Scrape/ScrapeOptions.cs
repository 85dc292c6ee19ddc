using Parca.Ingest;
using Parca.Scrape.Forwarding;

namespace Parca.Scrape;

/// <summary>
/// What scraping needs from the host's settings. The server maps its own options onto these, so this project never
/// looks back at the server.
/// </summary>
public sealed class ScrapeOptions
{
    /// <summary>The parca.yaml whose <c>scrape_configs</c> are run and reloaded (<c>--config-path</c>).</summary>
    public string ConfigPath { get; init; } = "parca.yaml";

    /// <summary>Where scraped profiles go when this process has no storage; null: to this process' storage.</summary>
    public ForwarderOptions? Forward { get; init; }

    /// <summary>The server's ingest limits: a scraped profile is checked against the same ones as a pushed one.</summary>
    internal IngestLimits Limits { get; init; } = IngestLimits.Default;
}
