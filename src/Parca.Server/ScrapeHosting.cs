using Parca.Scrape;
using Parca.Scrape.Forwarding;

namespace Parca.Server;

/// <summary>The server's flags as scraping and forwarding take them (the scrape project does not know the server).</summary>
internal static class ScrapeHosting
{
    /// <param name="limits">the server's one <see cref="IngestLimits"/>, so scrapes draw on the same decode budget.</param>
    public static ScrapeOptions OptionsFrom(ParcaServerOptions options, IngestLimits limits) => new()
    {
        ConfigPath = options.ConfigPath,
        // --mode=scraper-only/forwarder runs no storage: everything scraped goes on to --store-address.
        Forward = options.Mode is "scraper-only" or "forwarder" ? ForwarderFrom(options) : null,
        Limits = limits,
    };

    public static ForwarderOptions ForwarderFrom(ParcaServerOptions options) => new()
    {
        StoreAddress = options.StoreAddress ?? "",
        Insecure = options.Insecure,
        InsecureSkipVerify = options.InsecureSkipVerify,
        TlsCaFile = options.StoreTlsCaFile,
        TlsCertFile = options.StoreTlsCertFile,
        TlsKeyFile = options.StoreTlsKeyFile,
        BearerToken = options.BearerTokenFile is { } file ? File.ReadAllText(file).Trim() : options.BearerToken,
        ExternalLabels = [.. options.ExternalLabels.OrderBy(kv => kv.Key, StringComparer.Ordinal)],
        MaxMessageSize = options.MaxMessageSize,
    };
}
