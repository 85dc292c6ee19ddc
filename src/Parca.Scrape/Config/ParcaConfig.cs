namespace Parca.Scrape.Config;

/// <summary>The contents of <c>parca.yaml</c> after loading and defaulting (see <see cref="ConfigLoader"/>).</summary>
public sealed class ParcaConfig
{
    public ObjectStorageConfig? ObjectStorage { get; set; }

    public List<ScrapeConfig> ScrapeConfigs { get; } = [];
}

public sealed class ObjectStorageConfig
{
    public BucketConfig Bucket { get; set; } = new();
}

public sealed class BucketConfig
{
    public string Type { get; set; } = "";

    /// <summary>Provider-specific settings; for FILESYSTEM the <c>directory</c> key.</summary>
    public Dictionary<string, string> Config { get; } = new(StringComparer.Ordinal);

    public string Prefix { get; set; } = "";
}

/// <summary>One entry of <c>scrape_configs</c>, with Prometheus semantics plus Parca's <c>profiling_config</c>.</summary>
public sealed class ScrapeConfig
{
    public string JobName { get; set; } = "";

    public Dictionary<string, List<string>> Params { get; } = new(StringComparer.Ordinal);

    public TimeSpan ScrapeInterval { get; set; } = ConfigDefaults.ScrapeInterval;

    public TimeSpan ScrapeTimeout { get; set; }

    public string Scheme { get; set; } = "http";

    public bool NormalizedAddresses { get; set; }

    public ProfilingConfig ProfilingConfig { get; set; } = new();

    public List<RelabelConfig> RelabelConfigs { get; } = [];

    public List<StaticConfig> StaticConfigs { get; } = [];

    public List<FileSdConfig> FileSdConfigs { get; } = [];

    public BasicAuthConfig? BasicAuth { get; set; }

    public AuthorizationConfig? Authorization { get; set; }

    public TlsConfig TlsConfig { get; set; } = new();

    public bool FollowRedirects { get; set; } = true;

    /// <summary>Largest scraped body in bytes (Prometheus' body_size_limit); 0 means --grpc-max-message-size.</summary>
    public long BodySizeLimit { get; set; }

    /// <summary>Most samples in one scraped profile (Prometheus' sample_limit); 0 means no limit of its own.</summary>
    public int SampleLimit { get; set; }

    /// <summary>The validated relabel_configs, compiled by the shared Parca.Relabel library.</summary>
    public Parca.Relabel.Relabeler Relabeler { get; set; } = Parca.Relabel.Relabeler.Empty;

    /// <summary>Canonical text of the YAML this job came from: a reload restarts the job only when it changed.</summary>
    public string Fingerprint { get; set; } = "";
}

public sealed class ProfilingConfig
{
    public string PathPrefix { get; set; } = "";

    /// <summary>Profile name (becomes <c>__name__</c>) to its settings, built-in defaults merged in.</summary>
    public SortedDictionary<string, PprofProfilingConfig> PprofConfig { get; } = new(StringComparer.Ordinal);
}

public sealed class PprofProfilingConfig
{
    public bool Enabled { get; set; } = true;

    public string Path { get; set; } = "";

    /// <summary>Delta profiles are requested with <c>?seconds=N</c>.</summary>
    public bool Delta { get; set; }

    /// <summary>The N of <c>?seconds=N</c>; 0 means the scrape interval in whole seconds.</summary>
    public int Seconds { get; set; }

    public List<SampleTypeConfig> KeepSampleType { get; } = [];
}

public sealed record SampleTypeConfig(string Type, string Unit);

/// <summary>A Prometheus <c>relabel_config</c> as written; compiled into <see cref="ScrapeConfig.Relabeler"/>.</summary>
public sealed class RelabelConfig
{
    public List<string> SourceLabels { get; } = [];

    public string Separator { get; set; } = ";";

    /// <summary>The regex as written; Prometheus anchors it (<c>^(?:regex)$</c>) when applying.</summary>
    public string Regex { get; set; } = "(.*)";

    public ulong Modulus { get; set; }

    public string? TargetLabel { get; set; }

    public string Replacement { get; set; } = "$1";

    public string Action { get; set; } = "replace";
}

public sealed class StaticConfig
{
    public List<string> Targets { get; } = [];

    public SortedDictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);
}

public sealed class FileSdConfig
{
    public List<string> Files { get; } = [];

    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class BasicAuthConfig
{
    public string Username { get; set; } = "";

    public string? Password { get; set; }

    public string? PasswordFile { get; set; }
}

public sealed class AuthorizationConfig
{
    public string Type { get; set; } = "Bearer";

    public string? Credentials { get; set; }

    public string? CredentialsFile { get; set; }
}

public sealed class TlsConfig
{
    public string? CaFile { get; set; }

    public string? CertFile { get; set; }

    public string? KeyFile { get; set; }

    public string? ServerName { get; set; }

    public bool InsecureSkipVerify { get; set; }
}

internal static class ConfigDefaults
{
    public static readonly TimeSpan ScrapeInterval = TimeSpan.FromSeconds(10);

    /// <summary>Parca's default timeout: a little more than the interval, so a delta CPU profile of a whole interval fits.</summary>
    public static readonly TimeSpan TimeoutSlack = TimeSpan.FromSeconds(3);

    public static readonly string[] RelabelActions =
        ["replace", "keep", "drop", "keepequal", "dropequal", "hashmod", "labelmap", "labeldrop", "labelkeep", "lowercase", "uppercase"];

    public static readonly string[] BucketTypes = ["FILESYSTEM", "S3", "GCS", "AZURE", "SWIFT", "COS", "ALIYUNOSS", "BOS", "OCI"];

    /// <summary>Built-in profiles every job scrapes unless disabled (Parca's defaults).</summary>
    public static IEnumerable<(string Name, string Path, bool Delta)> BuiltinProfiles()
    {
        yield return ("memory", "/debug/pprof/allocs", false);
        yield return ("block", "/debug/pprof/block", false);
        yield return ("goroutine", "/debug/pprof/goroutine", false);
        yield return ("mutex", "/debug/pprof/mutex", false);
        yield return ("process_cpu", "/debug/pprof/profile", true);
    }
}
