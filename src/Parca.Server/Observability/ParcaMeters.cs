namespace Parca.Server.Observability;

/// <summary>
/// Names of the server's meters. Every part of the server creates its instruments on one of these (through
/// <c>IMeterFactory</c> or <c>new Meter(name)</c>); <c>/metrics</c> exports every meter whose name starts with
/// <see cref="Prefix"/>, plus the runtime's <c>System.Runtime</c> meter. Instrument names follow Prometheus
/// conventions already (<c>parca_..._total</c>, <c>..._seconds</c>, <c>..._bytes</c>), as they are exported verbatim.
/// </summary>
public static class ParcaMeters
{
    public const string Prefix = "Parca";

    /// <summary>Ingest: <c>parca_ingest_samples_total</c>, <c>parca_ingest_bytes_total</c>, <c>parca_ingest_rejected_total{reason}</c>.</summary>
    public const string Ingest = "Parca.Ingest";

    /// <summary>Scraping, config reloads and forwarding (<see cref="Parca.Scrape.ScrapeMetrics"/>).</summary>
    public const string Scrape = Parca.Scrape.ScrapeMetrics.MeterName;

    /// <summary>Storage: e.g. <c>parca_storage_bytes{kind}</c> as an observable gauge.</summary>
    public const string Storage = "Parca.Storage";

    /// <summary>Queries: e.g. <c>parca_query_duration_seconds{method}</c> histogram.</summary>
    public const string Query = "Parca.Query";

    /// <summary>HTTP/gRPC requests served: <c>parca_http_requests_total{route,code}</c>, <c>parca_http_request_duration_seconds</c>.</summary>
    public const string Server = "Parca.Server";

    /// <summary>The .NET runtime's built-in meter (GC, JIT, thread pool, CPU time), exported too.</summary>
    public const string Runtime = "System.Runtime";
}
