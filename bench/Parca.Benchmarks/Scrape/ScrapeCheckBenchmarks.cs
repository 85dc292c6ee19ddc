using BenchmarkDotNet.Attributes;
using Parca.Pprof;
using Parca.Scrape;
using Parca.Scrape.Config;

namespace Parca.Benchmarks.Scrape;

/// <summary>
/// What the scraper does with every scraped body before writing it: un-gzip, check the pprof structure, read the
/// comments, and (with keep_sample_type) rewrite the profile. Inputs are real Go profiles from ../shared/testdata.
/// </summary>
[MemoryDiagnoser]
public class ScrapeCheckBenchmarks : IDisposable
{
    private byte[] _gzipped = [];
    private readonly FlatProfile _flat = new();
    private readonly FlatProfile _check = new();
    private SampleTypeConfig[] _keep = [];

    [Params("go-runtime/allocs.pb.gz", "go-runtime/cpu.pb.gz", "parca/alloc_space_delta.pb.gz")]
    public string Profile { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var path = Path.Combine(BenchPaths.Shared, "testdata", "pprof", Profile);
        _gzipped = File.ReadAllBytes(path);
        ScrapedProfile.Decode(_gzipped, _flat, PprofReadOptions.ParcaCompatible);
        var last = _flat.SampleTypes[^1]; // keep one type: every profile here has two or more
        _keep = [new SampleTypeConfig(_flat.GetString(last.Type), _flat.GetString(last.Unit))];
    }

    [Benchmark(Description = "un-gzip + decode + validate")]
    public int DecompressAndInspect()
    {
        ScrapedProfile.Decode(_gzipped, _check, PprofReadOptions.ParcaCompatible);
        return _check.SampleCount + ScrapedProfile.ExecutableInfos(_check).Count;
    }

    [Benchmark(Description = "keep_sample_type rewrite")]
    public int KeepSampleType() => ScrapedProfile.KeepSampleTypes(_flat, _keep)?.Length ?? 0;

    public void Dispose()
    {
        _flat.Dispose();
        _check.Dispose();
        GC.SuppressFinalize(this);
    }
}

internal static class BenchPaths
{
    public static string Shared { get; } = Find();

    private static string Find()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Parca.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return Path.GetFullPath(Path.Combine(dir ?? throw new InvalidOperationException("Parca.slnx not found"), "..", "shared"));
    }
}
