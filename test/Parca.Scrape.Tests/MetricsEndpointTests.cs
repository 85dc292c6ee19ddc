using System.Text.RegularExpressions;

namespace Parca.Scrape.Tests;

public sealed partial class MetricsEndpointTests(GoTargetFixture go) : IClassFixture<GoTargetFixture>
{
    [GeneratedRegex("""^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$""")]
    private static partial Regex SampleLine();

    [Fact]
    public async Task Metrics_are_in_prometheus_text_format_and_count_scrapes_requests_and_the_runtime()
    {
        await using var test = await TestServer.StartAsync(TestServer.Config(go.GoroutineJob()));
        await test.Writer.WaitForAsync(p => p.Name == "goroutine", TimeSpan.FromMinutes(1));
        using var http = new HttpClient { BaseAddress = test.Server.BaseAddress };
        (await http.GetAsync("healthz")).EnsureSuccessStatusCode();

        var response = await http.GetAsync("metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.True(line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal) || SampleLine().IsMatch(line), $"not a valid exposition line: {line}");
        }

        Assert.Contains("# TYPE parca_scrape_samples_total counter", text, StringComparison.Ordinal);
        Assert.Matches("""parca_scrape_samples_total\{job="go",profile="goroutine"\} [1-9][0-9]*\n""", text);
        Assert.Matches("""parca_scrape_duration_seconds_bucket\{job="go",profile="goroutine",le="\+Inf"\} [1-9][0-9]*\n""", text);
        Assert.Contains("parca_http_requests_total{code=\"200\",route=\"/healthz\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("parca_config_last_reload_successful 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter", text, StringComparison.Ordinal);
        Assert.DoesNotContain("parca_scrape_failures_total", text, StringComparison.Ordinal);
    }
}
