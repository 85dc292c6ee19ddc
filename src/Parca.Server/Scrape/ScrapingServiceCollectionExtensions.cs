using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parca.Rpc.Server;
using Parca.Server.Config;
using Parca.Server.Forwarding;
using Parca.Server.Observability;
using Parca.Server.Services;

namespace Parca.Server.Scrape;

public static class ScrapingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the scraper and the config reloader. <see cref="IProfileWriter"/> is only defaulted: storage (or the
    /// forwarder) registers its own with <c>AddSingleton</c>.
    /// </summary>
    public static IServiceCollection AddParcaScraping(this IServiceCollection services, ParcaServerOptions options)
    {
        services.AddMetrics();
        services.TryAddSingleton<ScrapeMetrics>();
        if (options.Mode is "scraper-only" or "forwarder")
        {
            // No storage in this process: everything scraped goes to --store-address.
            services.AddSingleton(ForwarderOptions.From(options));
            services.AddSingleton<ForwardingProfileWriter>();
            services.AddSingleton<IProfileWriter>(sp => sp.GetRequiredService<ForwardingProfileWriter>());
            services.AddRpcService<ForwardingProfileStoreService>(); // agents' v2 WriteArrow, passed on
        }
        else
        {
            // The storage ingest when this process has storage (registered after this, so resolved lazily).
            services.TryAddSingleton<IProfileWriter>(sp => sp.GetService<ProfileWriter>() is { } storage
                ? new StorageProfileWriter(storage)
                : new NoStorageProfileWriter(sp.GetRequiredService<ILogger<NoStorageProfileWriter>>()));
        }
        services.TryAddSingleton(sp => new ScrapeManager(
            sp.GetRequiredService<IProfileWriter>(),
            sp.GetRequiredService<ScrapeMetrics>(),
            sp.GetRequiredService<ILogger<ScrapeManager>>(),
            sp.GetService<Services.IngestLimits>() ?? new Services.IngestLimits(options.Limits, options.MaxMessageSize)));
        services.TryAddSingleton<ConfigReloader>();
        services.AddRpcService<ScrapeService>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ConfigReloader>());
        return services;
    }
}
