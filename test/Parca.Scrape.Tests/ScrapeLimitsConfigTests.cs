using Parca.Scrape.Config;

namespace Parca.Scrape.Tests;

/// <summary>Prometheus' body_size_limit and sample_limit in a scrape job.</summary>
public sealed class ScrapeLimitsConfigTests
{
    private const string Job = "object_storage: {bucket: {type: FILESYSTEM, config: {directory: d}}}\nscrape_configs:\n  - job_name: a\n";

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512B", 512L)]
    [InlineData("10KB", 10L << 10)]
    [InlineData("10MB", 10L << 20)]
    [InlineData("2GB", 2L << 30)]
    [InlineData("1TB", 1L << 40)]
    public void Body_size_limits_read_as_prometheus_does(string text, long bytes)
    {
        var config = ConfigLoader.Parse(Job + $"    body_size_limit: {text}\n    sample_limit: 5000\n", "parca.yaml");

        Assert.Equal(bytes, config.ScrapeConfigs[0].BodySizeLimit);
        Assert.Equal(5000, config.ScrapeConfigs[0].SampleLimit);
    }

    [Theory]
    [InlineData("    body_size_limit: 10 apples\n", "parca.yaml:4:22: scrape_configs[0].body_size_limit: not a valid size: \"10 apples\" (use e.g. 0, 512KB, 10MB, 1GB)")]
    [InlineData("    sample_limit: -1\n", "parca.yaml:4:19: scrape_configs[0].sample_limit: must be between 0 (no limit) and 2147483647, got -1")]
    public void Bad_limits_are_reported_with_their_position(string line, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(Job + line, "parca.yaml"));

        Assert.Equal(expected, Assert.Single(e.Problems));
    }
}
