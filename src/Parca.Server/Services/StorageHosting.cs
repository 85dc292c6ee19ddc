using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Rpc.Server;
using Parca.Storage;

namespace Parca.Server.Services;

/// <summary>
/// Wiring of storage, ingest and query into the server: the <see cref="ProfileStore"/> singleton (from the
/// --storage-* flags), ProfileStoreService, AgentsService, QueryService and the plain HTTP ingest endpoint.
/// </summary>
internal static class StorageHosting
{
    public static void AddServices(IServiceCollection services, ParcaServerOptions options)
    {
        services.AddSingleton(sp =>
        {
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Parca.Storage");
            var storage = StorageOptionsFrom(options);
            storage.Log = line => ServerLog.StorageEvent(log, line);
            storage.Meters = sp.GetService<System.Diagnostics.Metrics.IMeterFactory>();
            storage.Bucket = ObjectStorage.Open(options, line => ServerLog.StorageEvent(log, line));
            storage.QueryOnly = options.Mode == "query";
            if (storage.QueryOnly)
            {
                storage.Path = null; // nothing of its own to keep: every block comes from the bucket
                storage.WalEnabled = false;
            }

            return new ProfileStore(storage);
        });
        services.AddSingleton(sp => new QueryEngine(sp.GetRequiredService<ProfileStore>()));
        services.AddSingleton(new ReportLimits(options.QueryMemoryBudget, options.MaxMessageSize));
        services.AddSingleton(sp => new ProfileWriter(sp.GetRequiredService<ProfileStore>(), sp.GetRequiredService<IngestLimits>()));
        services.AddSingleton(sp => new Ingest.Arrow.ArrowIngest(sp.GetRequiredService<ProfileStore>(), options.MaxMessageSize));
        services.AddSingleton(_ => new AgentRegistry(TimeProvider.System, options.Limits.MaxAgents));
        // Scraped profiles go to storage, unless the caller registered its own writer (tests capture them).
        var writer = services.LastOrDefault(d => d.ServiceType == typeof(Scrape.IProfileWriter));
        if (writer is null || writer.ImplementationType == typeof(Scrape.NoStorageProfileWriter))
        {
            if (writer is not null)
            {
                services.Remove(writer);
            }

            services.AddSingleton<Scrape.IProfileWriter, StorageProfileWriter>();
        }
        services.AddRpcService<ProfileStoreService>();
        services.AddRpcService<AgentsService>();
        services.AddRpcService<QueryService>();
    }

    /// <summary>
    /// Blocks go to &lt;--storage-path&gt;/blocks only with --enable-persistence (as Parca, the default keeps data in
    /// memory); the head is bounded by --storage-active-memory; --storage-retention expires blocks (0 = forever);
    /// --storage-enable-wal logs appends under &lt;--storage-path&gt;/wal and replays them at start-up.
    /// </summary>
    public static StorageOptions StorageOptionsFrom(ParcaServerOptions options) => new()
    {
        Path = options.EnablePersistence ? options.StoragePath : null,
        ActiveMemoryBytes = options.StorageActiveMemory,
        Retention = options.StorageRetention,
        WalEnabled = options.EnablePersistence && options.StorageEnableWal,
        HeadMemoryLimitBytes = options.StorageHeadMemoryLimit,
        MaxFutureSkew = options.StorageMaxFutureSkew,
        WalLeftover = options.StorageWalLeftover switch
        {
            "replay" => WalLeftoverPolicy.Replay,
            "discard" => WalLeftoverPolicy.Discard,
            _ => WalLeftoverPolicy.Refuse,
        },
        WalSourceDecoder = ProfileWriter.DecodeLogged,
        BlockDuration = options.StorageBlockDuration,
        BucketSyncInterval = options.ObjectStorageSyncInterval,
        BucketCacheBytes = options.ObjectStorageCacheSize,
    };

    public static void MapEndpoints(IEndpointRouteBuilder root) => HttpIngest.Map(root);
}
