using Parca.Hosting;
namespace Parca.Server;

/// <summary>
/// Every setting of the <c>parca</c> server, with the defaults of the flags it is started with.
/// Plain data: the command line fills it, <see cref="Validate"/> checks it all at once.
/// </summary>
public sealed class ParcaServerOptions
{
    public string ConfigPath { get; set; } = "parca.yaml";
    public string Mode { get; set; } = "all";
    public string HttpAddress { get; set; } = ":7070";
    public string LogLevel { get; set; } = "info";
    public string LogFormat { get; set; } = "logfmt";
    public IReadOnlyList<string> CorsAllowedOrigins { get; set; } = [];

    /// <summary>File of bearer tokens (one per line, re-read when it changes) that writes must carry; null = no write auth.</summary>
    public string? AuthWriteTokenFile { get; set; }

    /// <summary>File of bearer tokens that API reads, /metrics and /debug/pprof must carry; null = no read auth.</summary>
    public string? AuthReadTokenFile { get; set; }

    /// <summary>--http-tls-cert-file: PEM certificate (and intermediates) served on the port; with the key file it turns TLS on.</summary>
    public string? HttpTlsCertFile { get; set; }

    /// <summary>--http-tls-key-file: PEM private key of <see cref="HttpTlsCertFile"/>.</summary>
    public string? HttpTlsKeyFile { get; set; }

    /// <summary>--http-tls-client-ca-file: PEM CA bundle; when set, clients must present a certificate it issued (mTLS).</summary>
    public string? HttpTlsClientCaFile { get; set; }

    /// <summary>Host header values served (name, or name:port); empty serves any (--http-allowed-hosts).</summary>
    public IReadOnlyList<string> AllowedHosts { get; set; } = [];
    public string? OtlpAddress { get; set; }
    public string PathPrefix { get; set; } = "";
    public double MutexProfileFraction { get; set; }
    public int BlockProfileRate { get; set; }
    /// <summary>
    /// Answer each report type once over a synthetic profile right after start (<c>--query-warmup-disable</c> turns it
    /// off), so the first user's query does not pay for compiling the query path.
    /// </summary>
    public bool QueryWarmup { get; set; } = true;

    public bool EnablePersistence { get; set; }
    public long StorageGranuleSize { get; set; } = 26_265_625;
    public long StorageActiveMemory { get; set; } = 536_870_912;
    public string StoragePath { get; set; } = "data";
    public bool StorageEnableWal { get; set; }
    public int StorageRowGroupSize { get; set; } = 8192;
    public TimeSpan StorageRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>--storage-head-memory-limit: bytes of head plus heads waiting for compaction before ingest is refused (0: 4 × active memory, at least 256 MiB).</summary>
    public long StorageHeadMemoryLimit { get; set; }

    /// <summary>--storage-max-future-skew: how far ahead of the server's clock a profile's time may be (0: no limit).</summary>
    public TimeSpan StorageMaxFutureSkew { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>--storage-wal-leftover: what to do with log segments found while the log is off (refuse, replay, discard).</summary>
    public string StorageWalLeftover { get; set; } = "refuse";

    /// <summary>--storage-block-duration: a head is cut into a block (and uploaded) after being open this long.</summary>
    public TimeSpan StorageBlockDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>--object-storage-sync-interval: how often the bucket is listed for new blocks.</summary>
    public TimeSpan ObjectStorageSyncInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>--object-storage-delete-delay: how long blocks a compacted block supersedes stay in the bucket.</summary>
    public TimeSpan ObjectStorageDeleteDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>--object-storage-cache-size: bytes of decoded cold-block sections kept in memory.</summary>
    public long ObjectStorageCacheSize { get; set; } = 512L << 20;

    public static readonly string[] KnownWalLeftovers = ["refuse", "replay", "discard"];
    public string SymbolizerDemangleMode { get; set; } = "simple";
    public int SymbolizerNumberOfTries { get; set; } = 3;
    public string DebuginfoCacheDir { get; set; } = "/tmp";
    public long DebuginfoUploadMaxSize { get; set; } = 1_000_000_000;
    public TimeSpan DebuginfoUploadMaxDuration { get; set; } = TimeSpan.FromMinutes(15);
    public bool DebuginfoUploadsSignedUrl { get; set; }
    public IReadOnlyList<string> DebuginfodUpstreamServers { get; set; } = ["https://debuginfod.elfutils.org"];
    public TimeSpan DebuginfodHttpRequestTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>--debuginfo-source-directories: where the SOURCE report may read files named by DWARF paths (none: archives only).</summary>
    public IReadOnlyList<string> DebuginfoSourceDirectories { get; set; } = [];
    public string Metastore { get; set; } = "badger";
    public string ProfileShareServer { get; set; } = "api.pprof.me:443";
    public string? StoreAddress { get; set; }
    public string? BearerToken { get; set; }
    public string? BearerTokenFile { get; set; }
    public bool Insecure { get; set; }
    public bool InsecureSkipVerify { get; set; }

    /// <summary>--store-tls-ca-file: CA bundle the forwarder trusts for --store-address (instead of the system's).</summary>
    public string? StoreTlsCaFile { get; set; }

    /// <summary>--store-tls-cert-file / --store-tls-key-file: client certificate the forwarder presents (mTLS).</summary>
    public string? StoreTlsCertFile { get; set; }

    public string? StoreTlsKeyFile { get; set; }
    public IReadOnlyDictionary<string, string> ExternalLabels { get; set; } = new Dictionary<string, string>();
    public bool ExperimentalArrow { get; set; }

    /// <summary>Largest gRPC message accepted or sent (Parca uses 64 MiB).</summary>
    public int MaxMessageSize { get; set; } = IngestLimits.DefaultMaxMessageSize;

    /// <summary>Resource limits (ingest, labels, queries, registries), each with its own flag.</summary>
    public ServerLimits Limits { get; set; } = new();

    /// <summary>Working memory one query's report may take (merged tree, frame graph, encoded result).</summary>
    public long QueryMemoryBudget { get; set; } = 1L << 30;

    public static readonly string[] KnownModes = ["all", "scraper-only", "forwarder", "query"];
    public static readonly string[] KnownLogLevels = ["debug", "info", "warn", "error"];
    public static readonly string[] KnownLogFormats = ["logfmt", "json"];
    public static readonly string[] KnownDemangleModes = ["simple", "full", "none", "templates"];

    /// <summary>Returns every problem with the options, so a user sees them all at once.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!KnownModes.Contains(Mode))
        {
            problems.Add($"--mode: '{Mode}' is not one of {string.Join(", ", KnownModes)}");
        }

        if (StorageEnableWal && !EnablePersistence)
        {
            problems.Add("--storage-enable-wal: needs --enable-persistence (the log is replayed into the blocks kept under --storage-path)");
        }

        if (!KnownLogLevels.Contains(LogLevel))
        {
            problems.Add($"--log-level: '{LogLevel}' is not one of {string.Join(", ", KnownLogLevels)}");
        }

        if (!KnownLogFormats.Contains(LogFormat))
        {
            problems.Add($"--log-format: '{LogFormat}' is not one of {string.Join(", ", KnownLogFormats)}");
        }

        if (!KnownDemangleModes.Contains(SymbolizerDemangleMode))
        {
            problems.Add($"--symbolizer-demangle-mode: '{SymbolizerDemangleMode}' is not one of {string.Join(", ", KnownDemangleModes)}");
        }

        if (!ListenAddress.TryParse(HttpAddress, out _, out var addressError))
        {
            problems.Add($"--http-address: {addressError}");
        }

        if (PathPrefix.Length > 0 && (!PathPrefix.StartsWith('/') || PathPrefix.EndsWith('/')))
        {
            problems.Add($"--path-prefix: '{PathPrefix}' must start with '/' and not end with '/'");
        }

        if (StorageActiveMemory <= 0)
        {
            problems.Add("--storage-active-memory: must be positive");
        }

        if (StorageRetention < TimeSpan.Zero)
        {
            problems.Add("--storage-retention: must not be negative (0 keeps data forever)");
        }

        if (StorageHeadMemoryLimit < 0)
        {
            problems.Add("--storage-head-memory-limit: must not be negative (0 picks 4 × --storage-active-memory)");
        }
        else if (StorageHeadMemoryLimit > 0 && StorageHeadMemoryLimit < StorageActiveMemory)
        {
            problems.Add("--storage-head-memory-limit: must be at least --storage-active-memory (the head alone grows to that)");
        }

        if (StorageMaxFutureSkew < TimeSpan.Zero)
        {
            problems.Add("--storage-max-future-skew: must not be negative (0 accepts any future time)");
        }

        if (!KnownWalLeftovers.Contains(StorageWalLeftover))
        {
            problems.Add($"--storage-wal-leftover: '{StorageWalLeftover}' is not one of {string.Join(", ", KnownWalLeftovers)}");
        }

        if (Mode is "scraper-only" or "forwarder" && string.IsNullOrEmpty(StoreAddress))
        {
            problems.Add($"--store-address: required with --mode={Mode}");
        }

        if (StorageBlockDuration <= TimeSpan.Zero)
        {
            problems.Add("--storage-block-duration: must be positive");
        }

        if (ObjectStorageSyncInterval <= TimeSpan.Zero)
        {
            problems.Add("--object-storage-sync-interval: must be positive");
        }

        if (ObjectStorageDeleteDelay < TimeSpan.Zero)
        {
            problems.Add("--object-storage-delete-delay: must not be negative");
        }

        if (ObjectStorageCacheSize < 0)
        {
            problems.Add("--object-storage-cache-size: must not be negative");
        }

        if (BearerToken is not null && BearerTokenFile is not null)
        {
            problems.Add("--bearer-token and --bearer-token-file: give one, not both");
        }

        if (MaxMessageSize <= 0)
        {
            problems.Add("--grpc-max-message-size: must be positive");
        }

        Limits.Validate(problems, MaxMessageSize);
        foreach (var (flag, file) in new[] { ("--auth-write-token-file", AuthWriteTokenFile), ("--auth-read-token-file", AuthReadTokenFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                problems.Add($"{flag}: '{file}' does not exist");
            }
        }

        ValidateTls(problems);
        if (QueryMemoryBudget <= 0)
        {
            problems.Add("--query-memory-budget: must be positive");
        }

        return problems;
    }

    private void ValidateTls(List<string> problems)
    {
        if ((HttpTlsCertFile is null) != (HttpTlsKeyFile is null))
        {
            problems.Add("--http-tls-cert-file and --http-tls-key-file: give both (TLS needs the certificate and its key)");
        }

        if (HttpTlsClientCaFile is not null && HttpTlsCertFile is null)
        {
            problems.Add("--http-tls-client-ca-file: needs --http-tls-cert-file and --http-tls-key-file (client certificates are verified over TLS)");
        }

        if ((StoreTlsCertFile is null) != (StoreTlsKeyFile is null))
        {
            problems.Add("--store-tls-cert-file and --store-tls-key-file: give both");
        }

        foreach (var (flag, file) in new[]
        {
            ("--http-tls-cert-file", HttpTlsCertFile), ("--http-tls-key-file", HttpTlsKeyFile), ("--http-tls-client-ca-file", HttpTlsClientCaFile),
            ("--store-tls-ca-file", StoreTlsCaFile), ("--store-tls-cert-file", StoreTlsCertFile), ("--store-tls-key-file", StoreTlsKeyFile),
        })
        {
            if (file is not null && !File.Exists(file))
            {
                problems.Add($"{flag}: '{file}' does not exist");
            }
        }
    }
}
