using Parca.Scrape.Config;

namespace Parca.Scrape.Tests;

public sealed class ConfigLoaderTests
{
    private const string Storage = """
        object_storage:
          bucket:
            type: FILESYSTEM
            config:
              directory: ./data

        """;

    private static ConfigException Invalid(string yaml) => Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "parca.yaml"));

    [Fact]
    public void The_repository_default_config_scrapes_the_server_itself()
    {
        var config = ConfigLoader.LoadFile(Path.Combine(RepoPaths.Root, "parca.yaml"));

        var job = Assert.Single(config.ScrapeConfigs);
        Assert.Equal("parca", job.JobName);
        Assert.Equal(["127.0.0.1:7070"], Assert.Single(job.StaticConfigs).Targets);
        Assert.Equal("FILESYSTEM", config.ObjectStorage!.Bucket.Type);
        Assert.True(job.ProfilingConfig.PprofConfig["process_cpu"].Enabled);
        Assert.True(job.ProfilingConfig.PprofConfig["memory"].Enabled);
    }

    [Fact]
    public void Defaults_follow_parca_interval_timeout_and_the_five_builtin_profiles()
    {
        var config = ConfigLoader.Parse(Storage + """
            scrape_configs:
              - job_name: app
                static_configs:
                  - targets: ['localhost:6060']
            """);

        var job = Assert.Single(config.ScrapeConfigs);
        Assert.Equal(TimeSpan.FromSeconds(10), job.ScrapeInterval);
        Assert.Equal(TimeSpan.FromSeconds(13), job.ScrapeTimeout);
        Assert.Equal("http", job.Scheme);
        var profiles = job.ProfilingConfig.PprofConfig;
        Assert.Equal(["block", "goroutine", "memory", "mutex", "process_cpu"], profiles.Keys);
        Assert.Equal("/debug/pprof/allocs", profiles["memory"].Path);
        Assert.Equal("/debug/pprof/profile", profiles["process_cpu"].Path);
        Assert.True(profiles["process_cpu"].Delta);
        Assert.False(profiles["memory"].Delta);
        Assert.All(profiles.Values, p => Assert.True(p.Enabled));
    }

    [Fact]
    public void Every_documented_field_is_read()
    {
        var config = ConfigLoader.Parse(Storage + """
            scrape_configs:
              - job_name: full
                scrape_interval: 1m30s
                scrape_timeout: 2m
                scheme: https
                params:
                  debug: ['1']
                normalized_addresses: true
                follow_redirects: false
                basic_auth:
                  username: u
                  password: p
                tls_config:
                  insecure_skip_verify: true
                  server_name: example
                profiling_config:
                  path_prefix: /app/
                  pprof_config:
                    fgprof:
                      path: /debug/pprof/fgprof
                      delta: true
                      seconds: 30
                    memory:
                      keep_sample_type:
                        - type: inuse_space
                          unit: bytes
                    block:
                      enabled: false
                relabel_configs:
                  - source_labels: [__address__]
                    regex: '(.*):.*'
                    target_label: host
                  - action: hashmod
                    source_labels: [__address__]
                    modulus: 4
                    target_label: __tmp_shard
                static_configs:
                  - targets: ['a:1', 'b:2']
                    labels:
                      env: prod
                file_sd_configs:
                  - files: ['targets/*.json']
                    refresh_interval: 30s
            """);

        var job = Assert.Single(config.ScrapeConfigs);
        Assert.Equal(TimeSpan.FromSeconds(90), job.ScrapeInterval);
        Assert.Equal(TimeSpan.FromMinutes(2), job.ScrapeTimeout);
        Assert.Equal("https", job.Scheme);
        Assert.Equal(["1"], job.Params["debug"]);
        Assert.True(job.NormalizedAddresses);
        Assert.False(job.FollowRedirects);
        Assert.Equal("p", job.BasicAuth!.Password);
        Assert.True(job.TlsConfig.InsecureSkipVerify);
        Assert.Equal("/app", job.ProfilingConfig.PathPrefix);
        var fgprof = job.ProfilingConfig.PprofConfig["fgprof"];
        Assert.Equal(("/debug/pprof/fgprof", true, 30), (fgprof.Path, fgprof.Delta, fgprof.Seconds));
        Assert.Equal([new SampleTypeConfig("inuse_space", "bytes")], job.ProfilingConfig.PprofConfig["memory"].KeepSampleType);
        Assert.Equal("/debug/pprof/allocs", job.ProfilingConfig.PprofConfig["memory"].Path);
        Assert.False(job.ProfilingConfig.PprofConfig["block"].Enabled);
        Assert.Equal(2, job.RelabelConfigs.Count);
        Assert.Equal(("replace", "(.*):.*", "$1", ";"), (job.RelabelConfigs[0].Action, job.RelabelConfigs[0].Regex, job.RelabelConfigs[0].Replacement, job.RelabelConfigs[0].Separator));
        Assert.Equal(4UL, job.RelabelConfigs[1].Modulus);
        Assert.Equal("prod", job.StaticConfigs[0].Labels["env"]);
        Assert.Equal(TimeSpan.FromSeconds(30), job.FileSdConfigs[0].RefreshInterval);
    }

    [Fact]
    public void Unknown_fields_are_rejected_with_line_column_and_the_known_fields()
    {
        var e = Invalid(Storage + """
            scrape_configs:
              - job_name: app
                scrape_intervall: 5s
            """);

        var problem = Assert.Single(e.Problems);
        Assert.StartsWith("parca.yaml:8:5: field scrape_intervall not found in scrape_configs[0] (known fields: job_name,", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void All_problems_are_reported_together_each_with_its_position()
    {
        var e = Invalid("""
            object_storage:
              bucket:
                type: FILESYSTEM
            scrape_configs:
              - job_name: app
                scrape_interval: 10x
                scheme: ftp
                static_configs:
                  - targets: ['http://host:80/path']
                relabel_configs:
                  - action: explode
                  - action: hashmod
                    target_label: shard
                  - regex: '(unclosed'
                    target_label: x
            """);

        Assert.Equal(
            [
                "parca.yaml:3:5: object_storage.bucket.config.directory: is required for a FILESYSTEM bucket",
                "parca.yaml:6:22: scrape_configs[0].scrape_interval: not a valid duration string: \"10x\" (use e.g. 10s, 1m30s, 500ms)",
                "parca.yaml:7:13: scrape_configs[0].scheme: must be http or https, got 'ftp'",
                "parca.yaml:9:19: scrape_configs[0].static_configs[0].targets[0]: \"http://host:80/path\" is not a valid hostname (targets are host:port, without scheme or path)",
                "parca.yaml:11:9: scrape_configs[0].relabel_configs[0].action: unknown relabel action \"explode\"",
                "parca.yaml:12:9: scrape_configs[0].relabel_configs[1].modulus: required and must be > 0 for action hashmod",
                "parca.yaml:14:9: scrape_configs[0].relabel_configs[2].regex: invalid regular expression \"(unclosed\": " + RegexError("^(?s:(unclosed)$"),
                "parca.yaml:5:5: scrape_configs[0].scrape_interval: must be a positive duration",
            ],
            e.Problems.Select(p => p.Replace("\\", "/")));
    }

    [Fact]
    public void A_delta_profile_needs_a_timeout_longer_than_its_duration()
    {
        var e = Invalid(Storage + """
            scrape_configs:
              - job_name: app
                scrape_interval: 10s
                scrape_timeout: 10s
                static_configs:
                  - targets: ['localhost:6060']
            """);

        Assert.Equal(["parca.yaml:9:21: scrape_configs[0].scrape_timeout: 10s must be greater than the 10s profile duration of delta profile 'process_cpu'"], e.Problems);

        var ok = ConfigLoader.Parse(Storage + """
            scrape_configs:
              - job_name: app
                scrape_interval: 10s
                scrape_timeout: 10s
                profiling_config:
                  pprof_config:
                    process_cpu:
                      seconds: 5
            """);
        Assert.Equal(5, ok.ScrapeConfigs[0].ProfilingConfig.PprofConfig["process_cpu"].Seconds);
    }

    [Theory]
    [InlineData("object_storage: {bucket: {type: FILESYSTEM, config: {directory: d}}}\nscrape_configs:\n  - job_name: a\n  - job_name: a\n", "found multiple scrape configs with job name \"a\"")]
    [InlineData("scrape_configs: []\n", "object_storage: is required")]
    [InlineData("object_storage: {bucket: {type: NFS}}\n", "unknown bucket type 'NFS'")]
    [InlineData("object_storage: [1]\n", "object_storage: expected a mapping, got a list")]
    [InlineData("object_storage: {bucket: {type: FILESYSTEM, config: {directory: d}}}\nscrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    authorization: {credentials: t}\n", "at most one of basic_auth and authorization may be configured")]
    [InlineData("object_storage: {bucket: {type: FILESYSTEM, config: {directory: d}}}\nscrape_configs:\n  - job_name: a\n    profiling_config: {pprof_config: {memory: {seconds: 0}}}\n", "memory.seconds: must be between 1 and 86400")]
    [InlineData("object_storage: {bucket: {type: FILESYSTEM, config: {directory: d}}}\n  bad: indent\n", "parca.yaml:2:")]
    public void Invalid_configs_name_the_problem(string yaml, string expected)
    {
        var e = Invalid(yaml);
        Assert.Contains(e.Problems, p => p.Contains(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("500ms", 500)]
    [InlineData("1m30s", 90_000)]
    [InlineData("2h", 7_200_000)]
    [InlineData("1d", 86_400_000)]
    [InlineData("1w", 604_800_000)]
    [InlineData("1y", 31_536_000_000)]
    public void Prometheus_durations_parse(string text, long milliseconds)
    {
        Assert.True(PromDuration.TryParse(text, out var value));
        Assert.Equal(milliseconds, (long)value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("1s1m")]
    [InlineData("1.5s")]
    [InlineData("-1s")]
    [InlineData("10 s")]
    public void Malformed_durations_are_rejected(string text) => Assert.False(PromDuration.TryParse(text, out _));

    private static string RegexError(string pattern)
    {
        try
        {
            _ = new System.Text.RegularExpressions.Regex(pattern);
            return "";
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }
}
