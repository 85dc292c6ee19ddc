using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parca.Ingest;
using Parca.Rpc.Server;
using Parca.Scrape.Config;
using Parca.Scrape.Forwarding;

namespace Parca.Scrape;

public static class ScrapingServiceCollectionExtensions
{
    /// <summary>
    /// Registers the scraper and the config reloader. Without <see cref="ScrapeOptions.Forward"/> scraped profiles go
    /// to the <see cref="ProfileWriter"/> the host registers for its storage (resolved lazily, so it may be registered
    /// after this), or are dropped with a log line when there is none. A host or test that registers its own
    /// <see cref="IProfileWriter"/> after this call replaces the default.
    /// </summary>
    public static IServiceCollection AddParcaScraping(this IServiceCollection services, ScrapeOptions options)
    {
        services.AddMetrics();
        services.AddSingleton(options);
        services.TryAddSingleton<ScrapeMetrics>();
        if (options.Forward is { } forward)
        {
            // No storage in this process: everything scraped goes to --store-address.
            services.AddSingleton(forward);
            services.AddSingleton<ForwardingProfileWriter>();
            services.AddSingleton<IProfileWriter>(sp => sp.GetRequiredService<ForwardingProfileWriter>());
            services.AddRpcService<ForwardingProfileStoreService>(); // agents' v2 WriteArrow, passed on
        }
        else
        {
            services.TryAddSingleton<IProfileWriter>(sp => sp.GetService<ProfileWriter>() is { } storage
                ? new StorageProfileWriter(storage)
                : new NoStorageProfileWriter(sp.GetRequiredService<ILogger<NoStorageProfileWriter>>()));
        }

        services.TryAddSingleton(sp => new ScrapeManager(
            sp.GetRequiredService<IProfileWriter>(),
            sp.GetRequiredService<ScrapeMetrics>(),
            sp.GetRequiredService<ILogger<ScrapeManager>>(),
            options.Limits));
        services.TryAddSingleton<ConfigReloader>();
        services.AddRpcService<ScrapeService>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<ConfigReloader>());
        return services;
    }
}
