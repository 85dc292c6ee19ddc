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
            return new ConfiguredBucket(ObjectStorage.Open(options, line => ServerLog.StorageEvent(log, line)));
        });
        services.AddSingleton(sp =>
        {
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Parca.Storage");
            var storage = StorageOptionsFrom(options);
            storage.Log = line => ServerLog.StorageEvent(log, line);
            storage.Meters = sp.GetService<System.Diagnostics.Metrics.IMeterFactory>();
            storage.Bucket = sp.GetRequiredService<ConfiguredBucket>().Bucket;
            storage.QueryOnly = options.Mode == "query";
            if (storage.QueryOnly)
            {
                storage.Path = null; // nothing of its own to keep: every block comes from the bucket
                storage.WalEnabled = false;
            }

            return new ProfileStore(storage);
        });
        services.AddSingleton(sp =>
        {
            var engine = new QueryEngine(sp.GetRequiredService<ProfileStore>());
            // How far queries got: with parca_query_cancelled_total it shows a cancelled query stopped scanning.
            sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()?.Create(new System.Diagnostics.Metrics.MeterOptions(Observability.ParcaMeters.Query))
                .CreateObservableCounter("parca_query_series_examined_total", () => engine.SeriesExamined, null, "Series tested against query selectors (counted in steps of 256).");
            return engine;
        });
        services.AddSingleton(new ReportLimits(options.QueryMemoryBudget, options.MaxMessageSize));
        // A quarter of one query's budget keeps the last few selections' merged results and graphs for 30 s.
        services.AddSingleton(new ReportCache(options.QueryMemoryBudget / 4, TimeSpan.FromSeconds(30), TimeProvider.System));
        services.AddSingleton(sp => new ProfileWriter(sp.GetRequiredService<ProfileStore>(), sp.GetRequiredService<IngestLimits>()));
        services.AddSingleton(sp => new Ingest.ProfileCommit(sp.GetRequiredService<ProfileStore>(), sp.GetRequiredService<IngestLimits>()));
        services.AddSingleton(sp => new Ingest.Arrow.ArrowIngest(sp.GetRequiredService<Ingest.ProfileCommit>(), options.MaxMessageSize));
        services.AddSingleton(sp => new Ingest.Otlp.OtlpIngest(sp.GetRequiredService<Ingest.ProfileCommit>()));
        services.AddSingleton(_ => new AgentRegistry(TimeProvider.System, options.Limits.MaxAgents));
        services.AddRpcService<ProfileStoreService>();
        services.AddRpcService<OtlpProfilesService>();
        services.AddRpcService<AgentsService>();
        services.AddRpcService<QueryService>();
        ObjectStorage.AddDebuginfoBucket(services);
        Debuginfo.DebuginfoHosting.AddServices(services, options);
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
        MaxActiveSeries = options.Limits.MaxActiveSeries,
        MaxFutureSkew = options.StorageMaxFutureSkew,
        WalLeftover = options.StorageWalLeftover switch
        {
            "replay" => WalLeftoverPolicy.Replay,
            "discard" => WalLeftoverPolicy.Discard,
            _ => WalLeftoverPolicy.Refuse,
        },
        BlockDuration = options.StorageBlockDuration,
        BucketSyncInterval = options.ObjectStorageSyncInterval,
        BucketDeleteDelay = options.ObjectStorageDeleteDelay,
        // Debuginfo uploads share the bucket: their multipart uploads may run for --debuginfo-upload-max-duration.
        BucketOrphanGrace = TimeSpan.FromTicks(Math.Max(TimeSpan.FromHours(1).Ticks, 2 * options.DebuginfoUploadMaxDuration.Ticks)),
        BucketCacheBytes = options.ObjectStorageCacheSize,
    };

    public static void MapEndpoints(IEndpointRouteBuilder root)
    {
        HttpIngest.Map(root);
        OtlpHttp.Map(root);
    }
}
