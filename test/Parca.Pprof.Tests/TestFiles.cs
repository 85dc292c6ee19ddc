namespace Parca.Pprof.Tests;

/// <summary>The shared pprof test corpus.</summary>
internal static class TestFiles
{
    public static string PprofDir => Path.Combine(RepoPaths.Shared, "testdata", "pprof");

    /// <summary>Every .pb.gz under testdata/pprof, as paths relative to it (stable xunit case names).</summary>
    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(PprofDir, "*.pb.gz", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(PprofDir, f));
        }

        return data;
    }

    public static string[] Many() =>
        Directory.GetFiles(Path.Combine(PprofDir, "parca", "many"), "*.pb.gz").Order(StringComparer.Ordinal).ToArray();

    public static string PathOf(string relative) => Path.Combine(PprofDir, relative);

    public static byte[] Read(string relative) => File.ReadAllBytes(PathOf(relative));
}
