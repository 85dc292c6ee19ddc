using Parca.Scrape.Config;
using Parca.Scrape.Discovery;

namespace Parca.Scrape.Tests;

public sealed class TargetBuilderTests
{
    private static (List<ScrapeTarget> Active, List<DroppedTarget> Dropped) Build(string jobYaml, TargetGroup? group = null)
    {
        var config = ConfigLoader.Parse("object_storage: {bucket: {type: FILESYSTEM, config: {directory: d}}}\nscrape_configs:\n" + jobYaml);
        var job = config.ScrapeConfigs[0];
        var active = new List<ScrapeTarget>();
        var dropped = new List<DroppedTarget>();
        group ??= new TargetGroup("static/0", job.StaticConfigs[0].Targets.Select(t => (IReadOnlyDictionary<string, string>)new Dictionary<string, string> { ["__address__"] = t }).ToList(), job.StaticConfigs[0].Labels);
        TargetBuilder.Build(job, group, active, dropped);
        return (active, dropped);
    }

    [Fact]
    public void One_target_per_address_and_enabled_profile_with_public_labels_and_the_url_from_reserved_ones()
    {
        var (active, dropped) = Build("""
              - job_name: api
                scheme: https
                scrape_interval: 15s
                params:
                  debug: ['1']
                static_configs:
                  - targets: ['api.internal', 'api2.internal:8443']
                    labels: { zone: eu }
                profiling_config:
                  path_prefix: /svc
                  pprof_config:
                    block: { enabled: false }
                    mutex: { enabled: false }
                    goroutine: { enabled: false }
            """);

        Assert.Empty(dropped);
        Assert.Equal(4, active.Count);
        var cpu = active.Single(t => t.ProfileName == "process_cpu" && t.Url.Host == "api.internal");
        Assert.Equal("https://api.internal:443/svc/debug/pprof/profile?debug=1&seconds=15", cpu.Url.OriginalString);
        Assert.Equal(
            [new("__name__", "process_cpu"), new("instance", "api.internal:443"), new("job", "api"), new("zone", "eu")],
            cpu.Labels);
        var memory = active.Single(t => t.ProfileName == "memory" && t.Url.Port == 8443);
        Assert.Equal("https://api2.internal:8443/svc/debug/pprof/allocs?debug=1", memory.Url.OriginalString);
        Assert.Contains(new KeyValuePair<string, string>("__scheme__", "https"), memory.DiscoveredLabels);
        Assert.Contains(new KeyValuePair<string, string>("__profile_path__", "/svc/debug/pprof/allocs"), memory.DiscoveredLabels);
    }

    [Fact]
    public void Targets_keep_a_stable_offset_inside_the_interval()
    {
        var (first, _) = Build("  - job_name: a\n    static_configs: [{targets: ['h:1', 'h:2']}]\n");
        var (again, _) = Build("  - job_name: a\n    static_configs: [{targets: ['h:1', 'h:2']}]\n");
        var now = new DateTimeOffset(2026, 11, 21, 12, 0, 3, TimeSpan.Zero);
        var interval = TimeSpan.FromSeconds(10);

        var delays = first.Select(t => t.InitialDelay(interval, now)).ToList();
        Assert.Equal(delays, again.Select(t => t.InitialDelay(interval, now)).ToList());
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, interval));
        Assert.True(delays.Distinct().Count() > 1, "targets are spread over the interval");
        // The same target lands at the same phase of every interval.
        var t0 = first[0];
        Assert.Equal((now + t0.InitialDelay(interval, now)).UtcTicks % interval.Ticks, (now.AddSeconds(37) + t0.InitialDelay(interval, now.AddSeconds(37))).UtcTicks % interval.Ticks);
    }

    [Fact]
    public void Relabeling_keeps_drops_and_rewrites_targets_before_the_url_is_built()
    {
        var (active, dropped) = Build("""
              - job_name: relabel
                static_configs:
                  - targets: ['app-1.prod:6060', 'app-2.prod:6060', 'db-1.prod:6060']
                    labels: { team: core }
                profiling_config:
                  pprof_config:
                    block: { enabled: false }
                    mutex: { enabled: false }
                    goroutine: { enabled: false }
                    memory: { enabled: false }
                relabel_configs:
                  # Prometheus docs: keep only the targets whose address matches.
                  - source_labels: [__address__]
                    regex: 'app-.*'
                    action: keep
                  # Extract a label from the address.
                  - source_labels: [__address__]
                    regex: '([^.]+)\.([^:]+):\d+'
                    replacement: '$2'
                    target_label: env
                  # Reserved labels steer the scrape: scheme, path and query parameters.
                  - target_label: __scheme__
                    replacement: https
                  - source_labels: [__profile_path__]
                    regex: '(.*)'
                    replacement: '/internal$1'
                    target_label: __profile_path__
                  - target_label: __param_debug
                    replacement: '1'
                  - source_labels: [team]
                    target_label: owner
                  - regex: team
                    action: labeldrop
            """);

        Assert.Equal("dropped by relabeling", Assert.Single(dropped).Reason);
        Assert.Equal(2, active.Count);
        var app1 = active.Single(t => t.Url.Host == "app-1.prod");
        Assert.Equal("https://app-1.prod:6060/internal/debug/pprof/profile?debug=1&seconds=10", app1.Url.OriginalString);
        Assert.Equal(
            [new("__name__", "process_cpu"), new("env", "prod"), new("instance", "app-1.prod:6060"), new("job", "relabel"), new("owner", "core")],
            app1.Labels);
    }

    [Fact]
    public void Hashmod_shards_targets_like_prometheus()
    {
        var targets = Enumerable.Range(0, 20).Select(i => $"10.0.0.{i}:6060").ToList();
        var (active, dropped) = Build($$"""
              - job_name: shard
                static_configs:
                  - targets: [{{string.Join(", ", targets.Select(t => $"'{t}'"))}}]
                profiling_config:
                  pprof_config:
                    block: { enabled: false }
                    mutex: { enabled: false }
                    goroutine: { enabled: false }
                    process_cpu: { enabled: false }
                relabel_configs:
                  - source_labels: [__address__]
                    modulus: 4
                    target_label: __tmp_hash
                    action: hashmod
                  - source_labels: [__tmp_hash]
                    regex: '1'
                    action: keep
            """);

        // Prometheus: the last 8 bytes of the MD5 of the joined source values, big-endian, modulo the modulus.
        var expected = targets.Where(t =>
            System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(t)).AsSpan(8)) % 4 == 1).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, active.Select(t => t.Labels.Single(l => l.Key == "instance").Value));
        Assert.Equal(targets.Count - expected.Count, dropped.Count);
        Assert.All(active, t => Assert.DoesNotContain(t.Labels, l => l.Key == "__tmp_hash"));
    }

    [Fact]
    public void Labelmap_copies_meta_labels_before_they_are_dropped()
    {
        var group = new TargetGroup("f", [new Dictionary<string, string> { ["__address__"] = "h:1", ["__meta_filepath"] = "/etc/t.json" }], new Dictionary<string, string>());
        var (active, _) = Build("""
              - job_name: map
                static_configs: [{targets: ['unused:1']}]
                profiling_config:
                  pprof_config:
                    block: { enabled: false }
                    mutex: { enabled: false }
                    goroutine: { enabled: false }
                    process_cpu: { enabled: false }
                relabel_configs:
                  - regex: '__meta_(.*)'
                    action: labelmap
            """, group);

        var target = Assert.Single(active);
        Assert.Contains(new KeyValuePair<string, string>("filepath", "/etc/t.json"), target.Labels);
        Assert.DoesNotContain(target.Labels, l => l.Key.StartsWith("__meta", StringComparison.Ordinal));
    }

    [Fact]
    public void File_sd_reads_json_and_yaml_groups_with_meta_filepath()
    {
        var dir = Directory.CreateTempSubdirectory("parca-filesd-").FullName;
        try
        {
            var json = Path.Combine(dir, "a.json");
            File.WriteAllText(json, """[{"targets": ["10.0.0.1:6060", "10.0.0.2:6060"], "labels": {"team": "core"}}]""");
            var yaml = Path.Combine(dir, "b.yaml");
            File.WriteAllText(yaml, "- targets: ['10.0.0.3:6060']\n  labels:\n    team: edge\n");

            var groups = FileSdDiscovery.Read(json).Concat(FileSdDiscovery.Read(yaml)).ToList();

            Assert.Equal(2, groups.Count);
            Assert.Equal(["10.0.0.1:6060", "10.0.0.2:6060"], groups[0].Targets.Select(t => t["__address__"]));
            Assert.Equal("core", groups[0].Labels["team"]);
            Assert.Equal(json, groups[0].Labels["__meta_filepath"]);
            Assert.Equal("edge", groups[1].Labels["team"]);

            var (active, _) = Build("  - job_name: fs\n    static_configs: [{targets: ['unused:1']}]\n", groups[0]);
            var target = active.First(t => t.ProfileName == "goroutine");
            Assert.DoesNotContain(target.Labels, l => l.Key.StartsWith("__meta", StringComparison.Ordinal));
            Assert.Contains(new KeyValuePair<string, string>("__meta_filepath", json), target.DiscoveredLabels);
            Assert.Contains(new KeyValuePair<string, string>("team", "core"), target.Labels);

            File.WriteAllText(Path.Combine(dir, "bad.json"), """[{"targets": ["h:1"], "lables": {}}]""");
            var e = Assert.Throws<InvalidDataException>(() => FileSdDiscovery.Read(Path.Combine(dir, "bad.json")));
            Assert.Contains("lables", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
