using System.CommandLine;
using Parca.Hosting.CommandLine;
using static Parca.Hosting.CommandLine.FlagOptions;

namespace Parca.Server.Cli;

/// <summary>
/// The flags of <c>parca</c> (same names, defaults and meanings as Parca's), mapped onto <see cref="ParcaServerOptions"/>.
/// Flags that are accepted for compatibility but not implemented yet are listed in <see cref="s_notImplemented"/> and
/// produce a warning at start-up when given.
/// </summary>
internal static partial class ServerCommandLine
{
    private static readonly ParcaServerOptions s_defaults = new();

    private static readonly Option<string> s_configPath = Text("--config-path", "Path to config file.", s_defaults.ConfigPath);
    private static readonly Option<string> s_mode = Text("--mode", "Scraper only runs a scraper that sends to a remote gRPC endpoint. All runs all components. Query answers queries from the object storage bucket of parca.yaml and stores nothing.", s_defaults.Mode);
    private static readonly Option<string> s_httpAddress = Text("--http-address", "Address to bind HTTP server to.", s_defaults.HttpAddress);
    private static readonly Option<string?> s_port = OptionalText("--port", "(DEPRECATED) Use http-address instead.");
    private static readonly Option<string> s_logLevel = Text("--log-level", "Log level (debug, info, warn, error).", s_defaults.LogLevel);
    private static readonly Option<string> s_logFormat = Text("--log-format", "Configure if structured logging as JSON or as logfmt", s_defaults.LogFormat);
    private static readonly Option<string?> s_corsAllowedOrigins = OptionalText("--cors-allowed-origins", "Allowed CORS origins (comma separated, * for all).");
    private static readonly Option<string?> s_otlpAddress = OptionalText("--otlp-address", "OpenTelemetry collector address to send traces to.");
    private static readonly Option<bool> s_version = Flag("--version", "Show application version.");
    private static readonly Option<string> s_pathPrefix = Text("--path-prefix", "Path prefix for the UI", s_defaults.PathPrefix);
    private static readonly Option<double> s_mutexProfileFraction = Number("--mutex-profile-fraction", "Fraction of mutex profile samples to collect.", s_defaults.MutexProfileFraction);
    private static readonly Option<int> s_blockProfileRate = Number("--block-profile-rate", "Sample rate for block profile.", s_defaults.BlockProfileRate);
    private static readonly Option<bool> s_enablePersistence = Flag("--enable-persistence", "Turn on persistent storage for the metastore and profile storage.");
    private static readonly Option<bool> s_queryWarmupDisable = Flag("--query-warmup-disable", "Do not answer each report type once over a synthetic profile at start-up (the warm-up spares the first query the compilation of the query path).");
    private static readonly Option<long> s_storageGranuleSize = Number("--storage-granule-size", "Granule size in bytes for storage.", s_defaults.StorageGranuleSize);
    private static readonly Option<long> s_storageActiveMemory = Number("--storage-active-memory", "Amount of memory to use for active storage. Defaults to 512MB.", s_defaults.StorageActiveMemory);
    private static readonly Option<string> s_storagePath = Text("--storage-path", "Path to storage directory.", s_defaults.StoragePath);
    private static readonly Option<bool> s_storageEnableWal = Flag("--storage-enable-wal", "Enables write ahead log for profile storage.");
    private static readonly Option<int> s_storageRowGroupSize = Number("--storage-row-group-size", "Number of rows in each row group during compaction and persistence. Setting to <= 0 results in a single row group per file.", s_defaults.StorageRowGroupSize);
    private static readonly Option<string> s_storageRetention = Text("--storage-retention", "How long profiles are kept before their blocks are deleted (0 keeps them forever).", "7d");
    private static readonly Option<long> s_storageHeadMemoryLimit = Number("--storage-head-memory-limit", "Bytes the head and the heads waiting for compaction may hold before ingest is refused (0: 4 x --storage-active-memory, at least 256MiB).", s_defaults.StorageHeadMemoryLimit);
    private static readonly Option<string> s_storageMaxFutureSkew = Text("--storage-max-future-skew", "How far ahead of the server's clock a profile's time may be; later ones are refused (0 accepts any).", "10m");
    private static readonly Option<string> s_storageBlockDuration = Text("--storage-block-duration", "How long a head stays open before it is cut into a block (and, with object storage, uploaded).", "2h");
    private static readonly Option<string> s_objectStorageDeleteDelay = Text("--object-storage-delete-delay", "How long blocks that a compacted block supersedes stay in the bucket, so servers that listed it before the merge can still read them (0 deletes them at the next upkeep pass).", "10m");
    private static readonly Option<string> s_objectStorageSyncInterval = Text("--object-storage-sync-interval", "How often the object storage bucket is listed for blocks other servers uploaded: the most a query server lags behind an upload.", "15s");
    private static readonly Option<long> s_objectStorageCacheSize = Number("--object-storage-cache-size", "Bytes of cold-block sections read from object storage that are kept in memory.", s_defaults.ObjectStorageCacheSize);
    private static readonly Option<string> s_storageWalLeftover = Text("--storage-wal-leftover", "Write-ahead log segments found at start-up while --storage-enable-wal is off: refuse (to start), replay (into blocks, then delete them) or discard.", s_defaults.StorageWalLeftover);
    private static readonly Option<string> s_symbolizerDemangleMode = Text("--symbolizer-demangle-mode", "Mode to demangle C++ symbols. Default mode is simplified: no parameters, no templates, no return type", s_defaults.SymbolizerDemangleMode);
    private static readonly Option<int> s_symbolizerNumberOfTries = Number("--symbolizer-number-of-tries", "Number of tries to attempt to symbolize an unsybolized location", s_defaults.SymbolizerNumberOfTries);
    private static readonly Option<string> s_debuginfoCacheDir = Text("--debuginfo-cache-dir", "Path to directory where debuginfo is cached.", s_defaults.DebuginfoCacheDir);
    private static readonly Option<long> s_debuginfoUploadMaxSize = Number("--debuginfo-upload-max-size", "Maximum size of debuginfo upload in bytes.", s_defaults.DebuginfoUploadMaxSize);
    private static readonly Option<string> s_debuginfoUploadMaxDuration = Text("--debuginfo-upload-max-duration", "Maximum duration of debuginfo upload.", "15m");
    private static readonly Option<bool> s_debuginfoUploadsSignedUrl = Flag("--debuginfo-uploads-signed-url", "Whether to use signed URLs for debuginfo uploads.");
    private static readonly Option<string> s_debuginfodUpstreamServers = Text("--debuginfod-upstream-servers", "Upstream debuginfod servers, an ordered list to try.", "https://debuginfod.elfutils.org");
    private static readonly Option<string?> s_debuginfoSourceDirectories = OptionalText("--debuginfo-source-directories", "Directories on this machine whose source files the SOURCE report may show when no source archive was uploaded (files named by DWARF paths; comma-separated; off by default).");
    private static readonly Option<string> s_debuginfodHttpRequestTimeout = Text("--debuginfod-http-request-timeout", "Timeout duration for HTTP request to upstream debuginfod server. Defaults to 5m", "5m");
    private static readonly Option<string> s_metastore = Text("--metastore", "Which metastore implementation to use (accepted for compatibility; the storage engine has its own).", s_defaults.Metastore);
    private static readonly Option<string> s_profileShareServer = Text("--profile-share-server", "gRPC address to send share profile requests to.", s_defaults.ProfileShareServer);
    private static readonly Option<string?> s_storeAddress = OptionalText("--store-address", "gRPC address to send profiles and symbols to.");
    private static readonly Option<string?> s_bearerToken = OptionalText("--bearer-token", "Bearer token to authenticate with store.");
    private static readonly Option<string?> s_bearerTokenFile = OptionalText("--bearer-token-file", "File to read bearer token from to authenticate with store.");
    private static readonly Option<bool> s_insecure = Flag("--insecure", "Send gRPC requests via plaintext instead of TLS.");
    private static readonly Option<bool> s_insecureSkipVerify = Flag("--insecure-skip-verify", "Skip TLS certificate verification.");
    private static readonly Option<string?> s_externalLabel = OptionalText("--external-label", "Label(s) to attach to all profiles in scraper-only mode (KEY=VALUE;...).");
    private static readonly Option<bool> s_experimentalArrow = Flag("--experimental-arrow", "EXPERIMENTAL: Enables Arrow ingestion, this will reduce CPU usage but will increase memory usage.");
    private static readonly Option<int> s_grpcMaxMessageSize = Number("--grpc-max-message-size", "Largest gRPC message accepted or sent, in bytes.", s_defaults.MaxMessageSize);
    private static readonly Option<long> s_queryMemoryBudget = Number("--query-memory-budget", "Working memory one query's report may take, in bytes; larger results fail with RESOURCE_EXHAUSTED.", s_defaults.QueryMemoryBudget);

    /// <summary>Flags accepted for compatibility whose behaviour does not exist yet, with what the user should know.</summary>
    private static readonly (Option Option, string Note)[] s_notImplemented =
    [
        (s_storageGranuleSize, "has no effect: the storage engine has no write granules (Parca removed them too)"),
        (s_storageRowGroupSize, "has no effect yet"),
        (s_metastore, "has no effect: symbols live in the storage engine"),
        (s_debuginfoUploadsSignedUrl, "signed-URL uploads are not implemented yet"),
        (s_experimentalArrow, "Arrow ingestion is not implemented yet"),
    ];

    public static Task<int> RunAsync(string[] args) => ProgramCommand.RunAsync(
        args,
        "parca",
        "parca: continuous profiling server (ingest, storage, query API and web UI on one port).",
        AllOptions(),
        s_version,
        s_notImplemented,
        Bind,
        options => options.Validate(),
        async (options, cancellationToken) =>
        {
            await using var server = ParcaServer.Create(options);
            try
            {
                await server.RunAsync(cancellationToken);
            }
            catch (Parca.Scrape.Config.ConfigException e)
            {
                // A bad parca.yaml at start-up: the reason with file:line, no stack trace (reloads keep the last good one).
                await Console.Error.WriteLineAsync($"parca: {e.Message}");
                return 1;
            }
            catch (Parca.Storage.StorageStartupException e)
            {
                // The storage path needs an operator's decision (e.g. log segments with the log off): say which.
                await Console.Error.WriteLineAsync($"parca: {e.Message}");
                return 1;
            }

            return 0;
        });

    internal static IEnumerable<Option> AllOptions() =>
    [
        s_configPath, s_mode, s_httpAddress, s_port, s_logLevel, s_logFormat, s_corsAllowedOrigins, s_otlpAddress, s_version,
        s_pathPrefix, s_mutexProfileFraction, s_blockProfileRate, s_enablePersistence, s_queryWarmupDisable, s_storageGranuleSize,
        s_storageActiveMemory, s_storagePath, s_storageEnableWal, s_storageRowGroupSize, s_storageRetention,
        s_storageHeadMemoryLimit, s_storageMaxFutureSkew, s_storageWalLeftover, s_storageBlockDuration, s_objectStorageSyncInterval, s_objectStorageDeleteDelay, s_objectStorageCacheSize,
        s_symbolizerDemangleMode, s_symbolizerNumberOfTries, s_debuginfoCacheDir, s_debuginfoUploadMaxSize,
        s_debuginfoUploadMaxDuration, s_debuginfoUploadsSignedUrl, s_debuginfodUpstreamServers, s_debuginfoSourceDirectories,
        s_debuginfodHttpRequestTimeout, s_metastore, s_profileShareServer, s_storeAddress, s_bearerToken,
        s_bearerTokenFile, s_insecure, s_insecureSkipVerify, s_externalLabel, s_experimentalArrow, s_grpcMaxMessageSize, s_queryMemoryBudget,
        .. LimitOptions(),
        .. TlsOptions(),
    ];

    internal static ParcaServerOptions Bind(ParseResult r, List<string> problems)
    {
        var port = r.GetValue(s_port);
        var options = new ParcaServerOptions
        {
            ConfigPath = r.GetValue(s_configPath)!,
            Mode = r.GetValue(s_mode)!,
            HttpAddress = string.IsNullOrEmpty(port) ? r.GetValue(s_httpAddress)! : port,
            LogLevel = r.GetValue(s_logLevel)!,
            LogFormat = r.GetValue(s_logFormat)!,
            CorsAllowedOrigins = SplitList(r.GetValue(s_corsAllowedOrigins)),
            AllowedHosts = SplitList(r.GetValue(s_httpAllowedHosts)),
            AuthWriteTokenFile = r.GetValue(s_authWriteTokenFile),
            AuthReadTokenFile = r.GetValue(s_authReadTokenFile),
            OtlpAddress = r.GetValue(s_otlpAddress),
            PathPrefix = r.GetValue(s_pathPrefix)!,
            MutexProfileFraction = r.GetValue(s_mutexProfileFraction),
            BlockProfileRate = r.GetValue(s_blockProfileRate),
            EnablePersistence = r.GetValue(s_enablePersistence),
            QueryWarmup = !r.GetValue(s_queryWarmupDisable),
            StorageGranuleSize = r.GetValue(s_storageGranuleSize),
            StorageActiveMemory = r.GetValue(s_storageActiveMemory),
            StoragePath = r.GetValue(s_storagePath)!,
            StorageEnableWal = r.GetValue(s_storageEnableWal),
            StorageRowGroupSize = r.GetValue(s_storageRowGroupSize),
            StorageRetention = Duration(r, s_storageRetention, problems),
            StorageHeadMemoryLimit = r.GetValue(s_storageHeadMemoryLimit),
            StorageMaxFutureSkew = Duration(r, s_storageMaxFutureSkew, problems),
            StorageWalLeftover = r.GetValue(s_storageWalLeftover)!,
            StorageBlockDuration = Duration(r, s_storageBlockDuration, problems),
            ObjectStorageSyncInterval = Duration(r, s_objectStorageSyncInterval, problems),
            ObjectStorageDeleteDelay = Duration(r, s_objectStorageDeleteDelay, problems),
            ObjectStorageCacheSize = r.GetValue(s_objectStorageCacheSize),
            SymbolizerDemangleMode = r.GetValue(s_symbolizerDemangleMode)!,
            SymbolizerNumberOfTries = r.GetValue(s_symbolizerNumberOfTries),
            DebuginfoCacheDir = r.GetValue(s_debuginfoCacheDir)!,
            DebuginfoUploadMaxSize = r.GetValue(s_debuginfoUploadMaxSize),
            DebuginfoUploadMaxDuration = Duration(r, s_debuginfoUploadMaxDuration, problems),
            DebuginfoUploadsSignedUrl = r.GetValue(s_debuginfoUploadsSignedUrl),
            DebuginfodUpstreamServers = SplitList(r.GetValue(s_debuginfodUpstreamServers)),
            DebuginfoSourceDirectories = SplitList(r.GetValue(s_debuginfoSourceDirectories)),
            DebuginfodHttpRequestTimeout = Duration(r, s_debuginfodHttpRequestTimeout, problems),
            Metastore = r.GetValue(s_metastore)!,
            ProfileShareServer = r.GetValue(s_profileShareServer)!,
            StoreAddress = r.GetValue(s_storeAddress),
            BearerToken = r.GetValue(s_bearerToken) ?? Environment.GetEnvironmentVariable("PARCA_BEARER_TOKEN"),
            BearerTokenFile = r.GetValue(s_bearerTokenFile),
            Insecure = r.GetValue(s_insecure),
            InsecureSkipVerify = r.GetValue(s_insecureSkipVerify),
            ExternalLabels = KeyValues(r.GetValue(s_externalLabel), "--external-label", problems),
            ExperimentalArrow = r.GetValue(s_experimentalArrow),
            MaxMessageSize = r.GetValue(s_grpcMaxMessageSize),
            Limits = BindLimits(r),
            QueryMemoryBudget = r.GetValue(s_queryMemoryBudget),
        };
        BindTls(r, options);
        return options;
    }
}
