using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Parca.Rpc.Server;
using Parca.Symbols.Demangling;

namespace Parca.Server.Debuginfo;

/// <summary>
/// Wiring of the debuginfo subsystem: the bucket (&lt;--storage-path&gt;/debuginfo on the local filesystem; an object
/// store can replace the <see cref="IDebuginfoBucket"/> registration), the upload state machine and its RPC service,
/// the debuginfod client, the query-time symbolizer the QueryService runs before building reports, and the source
/// finder of the SOURCE report.
/// </summary>
internal static class DebuginfoHosting
{
    public static void AddServices(IServiceCollection services, ParcaServerOptions options)
    {
        var demangle = DemangleModes.TryParse(options.SymbolizerDemangleMode, out var mode) ? mode : DemangleMode.Simple;
        services.AddSingleton(new DebuginfoOptions
        {
            BucketDirectory = Path.Combine(options.StoragePath, "debuginfo"),
            SymbolCacheDirectory = Path.Combine(options.StoragePath, "debuginfo-symbols"),
            CacheDirectory = options.DebuginfoCacheDir,
            UploadMaxSize = options.DebuginfoUploadMaxSize,
            UploadMaxDuration = options.DebuginfoUploadMaxDuration,
            DebuginfodServers = options.DebuginfodUpstreamServers,
            DebuginfodTimeout = options.DebuginfodHttpRequestTimeout,
            MissingRecheck = options.ObjectStorageSyncInterval, // one metadata read per unknown build id and interval
            DemangleMode = demangle,
        });
        if (!services.Any(d => d.ServiceType == typeof(IDebuginfoBucket)))
        {
            services.AddSingleton<IDebuginfoBucket>(sp => new FileSystemDebuginfoBucket(sp.GetRequiredService<DebuginfoOptions>().BucketDirectory));
        }

        services.AddSingleton(sp => new DebuginfodClient(sp.GetRequiredService<DebuginfoOptions>(), TimeProvider.System));
        services.AddSingleton(sp => new DebuginfoMetadata(sp.GetRequiredService<IDebuginfoBucket>()));
        services.AddSingleton(sp => new DebuginfoStore(
            sp.GetRequiredService<IDebuginfoBucket>(), sp.GetRequiredService<DebuginfoMetadata>(), sp.GetRequiredService<DebuginfodClient>(),
            sp.GetRequiredService<DebuginfoOptions>(), TimeProvider.System));
        services.AddSingleton(sp => new DebuginfoSymbolizer(
            sp.GetRequiredService<DebuginfoStore>(), sp.GetRequiredService<DebuginfodClient>(), sp.GetRequiredService<DebuginfoOptions>(),
            sp.GetRequiredService<ILoggerFactory>(), TimeProvider.System));
        services.AddSingleton(sp => new ResultSymbolizer(sp.GetRequiredService<DebuginfoSymbolizer>()));
        services.AddSingleton(sp => new SourceFinder(
            sp.GetRequiredService<IDebuginfoBucket>(), options.DebuginfoSourceDirectories, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Parca.Debuginfo")));
        services.TryAddSingleton(TimeProvider.System);
        services.AddRpcService<DebuginfoService>();
    }
}
