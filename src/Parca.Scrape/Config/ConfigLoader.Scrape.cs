using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Parca.Scrape.Config;

public sealed partial class ConfigLoader
{
    private static readonly string[] s_scrapeFields =
    [
        "job_name", "params", "scrape_interval", "scrape_timeout", "scheme", "normalized_addresses", "profiling_config",
        "relabel_configs", "static_configs", "file_sd_configs", "basic_auth", "authorization", "tls_config", "follow_redirects",
        "body_size_limit", "sample_limit",
    ];

    private ScrapeConfig? ReadScrapeConfig(YamlNode node, string path)
    {
        var job = new ScrapeConfig { Fingerprint = Canonical(node) };
        YamlNode? timeoutNode = null;
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "job_name":
                    job.JobName = Str(value, p);
                    break;
                case "params":
                    foreach (var (name, values) in Fields(value, p))
                    {
                        job.Params[name] = StrList(values, $"{p}.{name}");
                    }

                    break;
                case "scrape_interval":
                    job.ScrapeInterval = Duration(value, p);
                    break;
                case "scrape_timeout":
                    job.ScrapeTimeout = Duration(value, p);
                    timeoutNode = value;
                    break;
                case "scheme":
                    job.Scheme = Str(value, p);
                    if (job.Scheme is not ("http" or "https"))
                    {
                        Problem(value, p, $"must be http or https, got '{job.Scheme}'");
                    }

                    break;
                case "normalized_addresses":
                    job.NormalizedAddresses = Bool(value, p);
                    break;
                case "follow_redirects":
                    job.FollowRedirects = Bool(value, p);
                    break;
                case "body_size_limit":
                    job.BodySizeLimit = ByteSize(value, p);
                    break;
                case "sample_limit":
                    var limit = Int(value, p);
                    if (limit is < 0 or > int.MaxValue)
                    {
                        Problem(value, p, $"must be between 0 (no limit) and {int.MaxValue}, got {limit}");
                    }

                    job.SampleLimit = (int)Math.Clamp(limit, 0, int.MaxValue);
                    break;
                case "profiling_config":
                    ReadProfilingConfig(value, p, job.ProfilingConfig);
                    break;
                case "relabel_configs":
                    var i = 0;
                    foreach (var item in Sequence(value, p))
                    {
                        job.RelabelConfigs.Add(ReadRelabelConfig(item, $"{p}[{i++}]"));
                    }

                    break;
                case "static_configs":
                    var s = 0;
                    foreach (var item in Sequence(value, p))
                    {
                        job.StaticConfigs.Add(ReadStaticConfig(item, $"{p}[{s++}]"));
                    }

                    break;
                case "file_sd_configs":
                    var f = 0;
                    foreach (var item in Sequence(value, p))
                    {
                        job.FileSdConfigs.Add(ReadFileSdConfig(item, $"{p}[{f++}]"));
                    }

                    break;
                case "basic_auth":
                    job.BasicAuth = ReadBasicAuth(value, p);
                    break;
                case "authorization":
                    job.Authorization = ReadAuthorization(value, p);
                    break;
                case "tls_config":
                    job.TlsConfig = ReadTlsConfig(value, p);
                    break;
                default:
                    Unknown(node, key, path, s_scrapeFields);
                    break;
            }
        }

        AddBuiltinProfiles(job.ProfilingConfig);
        if (!_relabelFailed && job.RelabelConfigs.Count > 0)
        {
            job.Relabeler = Parca.Relabel.Relabeler.Create(job.RelabelConfigs.Select(ToShared).ToList());
        }

        _relabelFailed = false;
        ValidateJob(job, node, path, timeoutNode);
        return job;
    }

    private void ValidateJob(ScrapeConfig job, YamlNode node, string path, YamlNode? timeoutNode)
    {
        if (job.JobName.Length == 0)
        {
            Problem(node, path + ".job_name", "is required");
        }

        if (job.ScrapeInterval <= TimeSpan.Zero)
        {
            Problem(node, path + ".scrape_interval", "must be a positive duration");
            return;
        }

        if (timeoutNode is null)
        {
            job.ScrapeTimeout = job.ScrapeInterval + ConfigDefaults.TimeoutSlack;
        }
        else if (job.ScrapeTimeout <= TimeSpan.Zero)
        {
            Problem(node, path + ".scrape_timeout", "must be a positive duration");
            return;
        }

        if (job.BasicAuth is not null && job.Authorization is not null)
        {
            Problem(node, path, "at most one of basic_auth and authorization may be configured");
        }

        foreach (var (name, profile) in job.ProfilingConfig.PprofConfig)
        {
            if (!profile.Enabled)
            {
                continue;
            }

            var seconds = profile.Seconds > 0 ? TimeSpan.FromSeconds(profile.Seconds) : job.ScrapeInterval;
            if (profile.Delta && job.ScrapeTimeout <= seconds)
            {
                // The target blocks for the whole profile duration before answering.
                Problem(timeoutNode ?? node, $"{path}.scrape_timeout", $"{PromDuration.Format(job.ScrapeTimeout)} must be greater than the {PromDuration.Format(seconds)} profile duration of delta profile '{name}'");
            }

            if (profile.Delta && profile.Seconds == 0 && job.ScrapeInterval < TimeSpan.FromSeconds(1))
            {
                Problem(node, $"{path}.scrape_interval", $"must be at least 1s for delta profile '{name}' (seconds=N is whole seconds)");
            }

            if (name == "process_cpu" && job.ScrapeTimeout < TimeSpan.FromSeconds(2))
            {
                Problem(node, $"{path}.scrape_timeout", "must be at least 2s when process_cpu is enabled");
            }
        }
    }

    private void ReadProfilingConfig(YamlNode node, string path, ProfilingConfig result)
    {
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "path_prefix":
                    result.PathPrefix = Str(value, p).TrimEnd('/');
                    if (result.PathPrefix.Length > 0 && !result.PathPrefix.StartsWith('/'))
                    {
                        Problem(value, p, "must start with '/'");
                    }

                    break;
                case "pprof_config":
                    foreach (var (name, entry) in Fields(value, p))
                    {
                        if (!ProfileNamePattern().IsMatch(name))
                        {
                            Problem(entry, $"{p}.{name}", "profile names must match [a-zA-Z_][a-zA-Z0-9_]* (they become __name__)");
                        }

                        result.PprofConfig[name] = ReadPprofEntry(entry, $"{p}.{name}");
                    }

                    break;
                default:
                    Unknown(node, key, path, "path_prefix", "pprof_config");
                    break;
            }
        }
    }

    private PprofProfilingConfig ReadPprofEntry(YamlNode node, string path)
    {
        var entry = new PprofProfilingConfig();
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "enabled":
                    entry.Enabled = Bool(value, p);
                    break;
                case "path":
                    entry.Path = Str(value, p);
                    if (!entry.Path.StartsWith('/'))
                    {
                        Problem(value, p, "must start with '/'");
                    }

                    break;
                case "delta":
                    entry.Delta = Bool(value, p);
                    break;
                case "seconds":
                    var seconds = Int(value, p);
                    if (seconds is < 1 or > 86_400)
                    {
                        Problem(value, p, "must be between 1 and 86400");
                    }

                    entry.Seconds = (int)Math.Clamp(seconds, 0, 86_400);
                    break;
                case "keep_sample_type":
                    var i = 0;
                    foreach (var item in Sequence(value, p))
                    {
                        string type = "", unit = "";
                        var ip = $"{p}[{i++}]";
                        foreach (var (k, v) in Fields(item, ip))
                        {
                            switch (k)
                            {
                                case "type":
                                    type = Str(v, $"{ip}.type");
                                    break;
                                case "unit":
                                    unit = Str(v, $"{ip}.unit");
                                    break;
                                default:
                                    Unknown(item, k, ip, "type", "unit");
                                    break;
                            }
                        }

                        if (type.Length == 0)
                        {
                            Problem(item, ip + ".type", "is required");
                        }

                        entry.KeepSampleType.Add(new SampleTypeConfig(type, unit));
                    }

                    break;
                default:
                    Unknown(node, key, path, "enabled", "path", "delta", "seconds", "keep_sample_type");
                    break;
            }
        }

        return entry;
    }

    /// <summary>User entries merge with Parca's five defaults: a missing path takes the built-in one.</summary>
    private static void AddBuiltinProfiles(ProfilingConfig config)
    {
        foreach (var (name, path, delta) in ConfigDefaults.BuiltinProfiles())
        {
            if (!config.PprofConfig.TryGetValue(name, out var entry))
            {
                config.PprofConfig[name] = new PprofProfilingConfig { Path = path, Delta = delta };
            }
            else if (entry.Path.Length == 0)
            {
                entry.Path = path;
                entry.Delta |= delta;
            }
        }

        foreach (var (name, entry) in config.PprofConfig)
        {
            if (entry.Path.Length == 0)
            {
                entry.Path = "/debug/pprof/" + name;
            }
        }
    }

    private RelabelConfig ReadRelabelConfig(YamlNode node, string path)
    {
        var rc = new RelabelConfig();
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "source_labels":
                    rc.SourceLabels.AddRange(StrList(value, p));
                    break;
                case "separator":
                    rc.Separator = Str(value, p);
                    break;
                case "regex":
                    rc.Regex = Str(value, p);
                    break;
                case "modulus":
                    var m = Int(value, p);
                    rc.Modulus = m > 0 ? (ulong)m : 0;
                    break;
                case "target_label":
                    rc.TargetLabel = Str(value, p);
                    break;
                case "replacement":
                    rc.Replacement = Str(value, p);
                    break;
                case "action":
                    rc.Action = Str(value, p).ToLowerInvariant();
                    break;
                default:
                    Unknown(node, key, path, "source_labels", "separator", "regex", "modulus", "target_label", "replacement", "action");
                    break;
            }
        }

        if (ValidateRelabel(rc, node, path) is null)
        {
            _relabelFailed = true;
        }

        return rc;
    }

    /// <summary>Validates one relabel_config with the shared Parca.Relabel rules, reporting at the entry's position.</summary>
    private Parca.Relabel.Relabeler? ValidateRelabel(RelabelConfig rc, YamlNode node, string path)
    {
        try
        {
            return Parca.Relabel.Relabeler.Create([ToShared(rc)]);
        }
        catch (Parca.Relabel.RelabelConfigException e)
        {
            foreach (var problem in e.Problems)
            {
                // "relabel_configs[0].regex: why" from the library becomes "<path>.regex: why" at this entry's line.
                var rest = problem.StartsWith("relabel_configs[0]", StringComparison.Ordinal) ? problem["relabel_configs[0]".Length..] : ": " + problem;
                var colon = rest.IndexOf(": ", StringComparison.Ordinal);
                var field = colon > 0 ? rest[..colon] : "";
                Problem(node, path + field, colon >= 0 ? rest[(colon + 2)..] : rest);
            }

            return null;
        }
    }

    private StaticConfig ReadStaticConfig(YamlNode node, string path)
    {
        var sc = new StaticConfig();
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "targets":
                    var i = 0;
                    foreach (var item in Sequence(value, p))
                    {
                        var target = Str(item, $"{p}[{i}]");
                        if (target.Contains('/', StringComparison.Ordinal))
                        {
                            Problem(item, $"{p}[{i}]", $"\"{target}\" is not a valid hostname (targets are host:port, without scheme or path)");
                        }

                        sc.Targets.Add(target);
                        i++;
                    }

                    break;
                case "labels":
                    foreach (var (name, labelValue) in Fields(value, p))
                    {
                        if (!LabelNamePattern().IsMatch(name))
                        {
                            Problem(labelValue, $"{p}.{name}", $"\"{name}\" is not a valid label name");
                        }

                        sc.Labels[name] = Str(labelValue, $"{p}.{name}");
                    }

                    break;
                default:
                    Unknown(node, key, path, "targets", "labels");
                    break;
            }
        }

        return sc;
    }

    private FileSdConfig ReadFileSdConfig(YamlNode node, string path)
    {
        var fc = new FileSdConfig();
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "files":
                    foreach (var file in StrList(value, p))
                    {
                        var ext = Path.GetExtension(file);
                        if (ext is not (".json" or ".yml" or ".yaml"))
                        {
                            Problem(value, p, $"file \"{file}\" must have a .json, .yml or .yaml extension");
                        }

                        fc.Files.Add(file);
                    }

                    break;
                case "refresh_interval":
                    fc.RefreshInterval = Duration(value, p);
                    break;
                default:
                    Unknown(node, key, path, "files", "refresh_interval");
                    break;
            }
        }

        if (fc.Files.Count == 0)
        {
            Problem(node, path + ".files", "at least one file is required");
        }

        return fc;
    }

    private BasicAuthConfig ReadBasicAuth(YamlNode node, string path)
    {
        var ba = new BasicAuthConfig();
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "username":
                    ba.Username = Str(value, p);
                    break;
                case "password":
                    ba.Password = Str(value, p);
                    break;
                case "password_file":
                    ba.PasswordFile = Str(value, p);
                    break;
                default:
                    Unknown(node, key, path, "username", "password", "password_file");
                    break;
            }
        }

        if (ba.Password is not null && ba.PasswordFile is not null)
        {
            Problem(node, path, "at most one of password and password_file may be configured");
        }

        return ba;
    }

    private AuthorizationConfig ReadAuthorization(YamlNode node, string path)
    {
        var auth = new AuthorizationConfig();
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "type":
                    auth.Type = Str(value, p);
                    break;
                case "credentials":
                    auth.Credentials = Str(value, p);
                    break;
                case "credentials_file":
                    auth.CredentialsFile = Str(value, p);
                    break;
                default:
                    Unknown(node, key, path, "type", "credentials", "credentials_file");
                    break;
            }
        }

        if (auth.Credentials is not null && auth.CredentialsFile is not null)
        {
            Problem(node, path, "at most one of credentials and credentials_file may be configured");
        }

        if (string.Equals(auth.Type, "basic", StringComparison.OrdinalIgnoreCase))
        {
            Problem(node, path + ".type", "authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
        }

        return auth;
    }

    private TlsConfig ReadTlsConfig(YamlNode node, string path)
    {
        var tls = new TlsConfig();
        foreach (var (key, value) in Fields(node, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "ca_file":
                    tls.CaFile = Str(value, p);
                    break;
                case "cert_file":
                    tls.CertFile = Str(value, p);
                    break;
                case "key_file":
                    tls.KeyFile = Str(value, p);
                    break;
                case "server_name":
                    tls.ServerName = Str(value, p);
                    break;
                case "insecure_skip_verify":
                    tls.InsecureSkipVerify = Bool(value, p);
                    break;
                default:
                    Unknown(node, key, path, "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify");
                    break;
            }
        }

        if ((tls.CertFile is null) != (tls.KeyFile is null))
        {
            Problem(node, path, "cert_file and key_file must be given together");
        }

        return tls;
    }

    private bool _relabelFailed;

    private static Parca.Relabel.RelabelConfig ToShared(RelabelConfig rc) => new()
    {
        SourceLabels = rc.SourceLabels.Count > 0 ? [.. rc.SourceLabels] : null,
        Separator = rc.Separator,
        Regex = rc.Regex,
        Modulus = rc.Modulus,
        TargetLabel = rc.TargetLabel,
        Replacement = rc.Replacement,
        Action = rc.Action,
    };

    private static string Canonical(YamlNode node)
    {
        var doc = new YamlDocument(node);
        using var writer = new StringWriter();
        new YamlStream(doc).Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$", RegexOptions.CultureInvariant)]
    internal static partial Regex LabelNamePattern();

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex ProfileNamePattern();
}
