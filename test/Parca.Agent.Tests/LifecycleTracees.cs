using System.Diagnostics;

namespace Parca.Agent.Tests;

/// <summary>
/// Builds of tracees/lifecycle.c (steps given as arguments, see the file) at -O2 without frame pointers, one file per
/// tag so that each test has its own build id, and a way to start them with a stdin the test can write to.
/// </summary>
internal static class LifecycleTracees
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, string> s_built = [];

    /// <summary>The user stack of a "b" step, leaf first.</summary>
    public static readonly string[] BurnChain = ["burn", "c", "b", "a", "step_burn", "main", "*", "__libc_start_main", "_start"];

    /// <summary>The user stack of a "d" step (the dlopen'ed library's chain), leaf first.</summary>
    public static readonly string[] LibraryChain = ["lib_burn", "lib_c", "lib_b", "lib_a", "lib_run", "run_library", "main", "*", "__libc_start_main", "_start"];

    /// <summary>lifecycle.c built with -DTAG=<paramref name="tag"/> and <paramref name="extraFlags"/>.</summary>
    public static string Build(int tag, string extraFlags = "")
    {
        var source = Path.Combine(AppContext.BaseDirectory, "tracees", "lifecycle.c");
        return BuildOnce($"lifecycle-{tag}", $"-O2 {extraFlags} -DTAG={tag} -o {{0}} {source} -ldl");
    }

    /// <summary>tracees/lifelib.c as a shared library without frame pointers.</summary>
    public static string BuildLibrary()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "tracees", "lifelib.c");
        return BuildOnce("liblifelib.so", $"-O2 -shared -fPIC -o {{0}} {source}");
    }

    private static string BuildOnce(string name, string argumentsFormat)
    {
        lock (s_lock)
        {
            if (s_built.TryGetValue(name, out var existing))
            {
                return existing;
            }

            Directory.CreateDirectory(Tracees.OutputDirectory);
            var output = Path.Combine(Tracees.OutputDirectory, name);
            Tracees.Run("gcc", string.Format(System.Globalization.CultureInfo.InvariantCulture, argumentsFormat, output));
            s_built[name] = output;
            return output;
        }
    }

    /// <summary>Starts <paramref name="file"/> with its stdin open for the "w" steps.</summary>
    public static Process Start(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
    }

    /// <summary>Lets a tracee waiting in a "w" step go on.</summary>
    public static void Continue(Process tracee)
    {
        tracee.StandardInput.WriteLine("go");
        tracee.StandardInput.Flush();
    }

    public static string BuildId(string path) => Parca.Symbols.Elf.ElfFile.Open(path).BuildId
        ?? throw new InvalidOperationException(path + " has no build id");
}
