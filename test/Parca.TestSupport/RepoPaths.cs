namespace Parca.TestSupport;

/// <summary>Locates the repository root and the shared test data beside it (<c>../shared</c>).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Shared => Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Parca.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return dir ?? throw new InvalidOperationException("Parca.slnx not found above " + AppContext.BaseDirectory);
    }
}
