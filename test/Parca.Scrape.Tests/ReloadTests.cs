using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Parca.Scrape.Config;

namespace Parca.Scrape.Tests;

public sealed class ReloadTests(GoTargetFixture go) : IClassFixture<GoTargetFixture>
{
    private static readonly TimeSpan s_guard = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Editing_the_file_swaps_jobs_and_a_broken_edit_keeps_the_last_good_config()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(go.GoroutineJob("first")));
        await test.Writer.WaitForAsync(p => p.Labels["job"] == "first", s_guard);

        await File.WriteAllTextAsync(test.ConfigPath, TestServer.Config(go.GoroutineJob("second")));
        await test.Writer.WaitForAsync(p => p.Labels["job"] == "second", s_guard);
        Assert.Equal(["second"], test.Scraper.Jobs);

        await File.WriteAllTextAsync(test.ConfigPath, TestServer.Config(go.GoroutineJob("third") + "\n    scrape_intervall: 1s\n"));
        var reloader = test.Server.Services.GetRequiredService<ConfigReloader>();
        Assert.False(await reloader.ReloadAsync());
        Assert.Equal(["second"], test.Scraper.Jobs);
        Assert.Equal("second", Assert.Single(reloader.Current!.ScrapeConfigs).JobName);
        var before = test.Writer.Written.Count(p => p.Labels["job"] == "second");
        await test.Writer.WaitForAsync(p => test.Writer.Written.Count(w => w.Labels["job"] == "second") > before, s_guard);
    }

    [Fact]
    public async Task Sighup_reloads_the_file()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(go.GoroutineJob("before")));
        var reloader = test.Server.Services.GetRequiredService<ConfigReloader>();

        // Change the file without the watcher noticing a difference in time order: SIGHUP must load it regardless.
        await File.WriteAllTextAsync(test.ConfigPath, TestServer.Config(go.GoroutineJob("after")));
        using (var kill = Process.Start("kill", ["-HUP", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await test.Writer.WaitForAsync(p => p.Labels["job"] == "after", s_guard);
        Assert.Equal("after", Assert.Single(reloader.Current!.ScrapeConfigs).JobName);
    }

    [Fact]
    public async Task An_unchanged_job_keeps_its_targets_across_a_reload()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(go.GoroutineJob("stay")));
        var target = Assert.Single(test.Scraper.ActiveTargets()["stay"]);
        await test.Writer.WaitForAsync(p => p.Labels["job"] == "stay", s_guard);

        await File.WriteAllTextAsync(test.ConfigPath, TestServer.Config(go.GoroutineJob("stay") + "\n" + go.GoroutineJob("added")));
        Assert.True(await test.Server.Services.GetRequiredService<ConfigReloader>().ReloadAsync());

        Assert.Equal(["added", "stay"], test.Scraper.Jobs.Order());
        Assert.Same(target, Assert.Single(test.Scraper.ActiveTargets()["stay"]));
        Assert.Equal(TargetHealth.Good, target.Health);
    }

    [Fact]
    public async Task An_invalid_file_at_start_up_stops_the_server_with_the_problems()
    {
        var dir = Directory.CreateTempSubdirectory("parca-bad-config-").FullName;
        try
        {
            var path = Path.Combine(dir, "parca.yaml");
            await File.WriteAllTextAsync(path, "object_storage: {bucket: {type: FILESYSTEM, config: {directory: d}}}\nscrape_config: []\n");
            await using var server = Parca.Server.ParcaServer.Create(new Parca.Server.ParcaServerOptions { HttpAddress = "127.0.0.1:0", ConfigPath = path, LogLevel = "error" });
            var e = await Assert.ThrowsAsync<ConfigException>(() => server.StartAsync());
            Assert.Equal([$"{path}:2:1: field scrape_config not found in the top level (known fields: object_storage, scrape_configs)"], e.Problems);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
