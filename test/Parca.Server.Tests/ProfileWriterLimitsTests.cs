using Parca.Ingest;
using Parca.Scrape;
using Parca.Storage;

namespace Parca.Server.Tests;

/// <summary>Label validation at scale and URL redaction, without the RPC layer.</summary>
public sealed class ProfileWriterLimitsTests
{
    private static readonly byte[] s_profile = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"));

    private static WriteSeries Series(int labels) =>
        new([new("__name__", "process_cpu"), .. Enumerable.Range(0, labels).Select(i => new KeyValuePair<string, string>("l" + i, "v" + i))],
            [new WriteSample(s_profile, null)]);

    [Fact]
    public void Two_hundred_thousand_labels_are_refused_by_the_default_limit()
    {
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero });
        var writer = new ProfileWriter(store);

        var e = Assert.Throws<IngestError>(() => writer.Write([Series(200_000)]));

        Assert.True(e.IsLimit);
        Assert.Equal("series[0].labels: 200001 labels, more than the limit of 64 (--ingest-max-label-names-per-series)", e.Message);
    }

    [Fact]
    public void Two_hundred_thousand_labels_validate_in_linear_time_when_allowed()
    {
        // The old validation scanned the kept labels for each label (quadratic: 53 s of CPU for this request). With
        // a name index it is a few hundred milliseconds; the test would take minutes with the quadratic scan.
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero });
        var limits = new IngestLimits(new ServerLimits { MaxLabelNamesPerSeries = 300_000 }, 64 << 20);
        var writer = new ProfileWriter(store, limits);

        Assert.True(writer.Write([Series(200_000)]) > 0);
        Assert.Equal(200_000, store.Partitions[^1].View().Series.GetSeries(0).Labels.Count);
    }

    [Theory]
    [InlineData("http://10.0.0.1:6060/debug/pprof/heap", "http://10.0.0.1:6060/debug/pprof/heap")]
    [InlineData("http://user:hunter2@10.0.0.1:6060/debug/pprof/heap", "http://user:<secret>@10.0.0.1:6060/debug/pprof/heap")]
    [InlineData("http://10.0.0.1:6060/debug/pprof/profile?seconds=10&access_token=abc&api_key=k", "http://10.0.0.1:6060/debug/pprof/profile?seconds=10&access_token=<secret>&api_key=<secret>")]
    [InlineData("https://h/p?Signature=s&x=1", "https://h/p?Signature=<secret>&x=1")]
    public void Scrape_urls_are_shown_without_secrets(string url, string shown) =>
        Assert.Equal(shown, UrlRedaction.Redact(new Uri(url)));
}
