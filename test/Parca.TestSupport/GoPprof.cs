namespace Parca.TestSupport;

/// <summary>
/// Google's pprof (<c>go tool pprof</c> from Debian's golang-go): the reference reader the tests check our profiles
/// against. <see cref="Raw(string[])"/> never symbolizes, so it shows what the file holds; the parsed forms are in
/// <c>GoPprof.Traces.cs</c> (<c>-traces</c>) and <c>GoPprof.RawStacks.cs</c> (<c>-raw</c>).
/// </summary>
public static partial class GoPprof
{
    // pprof keeps fetched and generated files under PPROF_TMPDIR: one directory per test run, not the user's home.
    private static readonly string s_tmp = Directory.CreateTempSubdirectory("parca-go-pprof-").FullName;

    /// <summary>The output of <c>go tool pprof</c> with <paramref name="args"/>.</summary>
    public static string Run(params string[] args) =>
        GoTool.Run(s_tmp, new Dictionary<string, string> { ["PPROF_TMPDIR"] = s_tmp }, ["tool", "pprof", .. args]);

    /// <summary><c>go tool pprof -raw -symbolize=none</c> of the files (several files are merged by pprof first).</summary>
    public static string Raw(params string[] files) => Run(["-raw", "-symbolize=none", .. files]);

    /// <summary><see cref="Raw(string[])"/> of a profile held in memory.</summary>
    public static string Raw(byte[] profile) => WithFile(profile, file => Raw(file));

    /// <summary><c>go tool pprof -proto</c>: pprof's merge of the files, as gzip protobuf bytes.</summary>
    public static byte[] MergeProto(params string[] files)
    {
        var output = Path.Combine(s_tmp, Guid.NewGuid().ToString("N") + ".pb.gz");
        Run(["-proto", "-symbolize=none", "-output", output, .. files]);
        var bytes = File.ReadAllBytes(output);
        File.Delete(output);
        return bytes;
    }

    private static T WithFile<T>(byte[] profile, Func<string, T> read)
    {
        var file = Path.Combine(s_tmp, Guid.NewGuid().ToString("N") + ".pb");
        File.WriteAllBytes(file, profile);
        try
        {
            return read(file);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
