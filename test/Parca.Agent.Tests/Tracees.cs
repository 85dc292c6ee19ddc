using System.Diagnostics;

namespace Parca.Agent.Tests;

/// <summary>Builds the C tracees with frame pointers (the flags environment.md found necessary) once per test run.</summary>
internal static class Tracees
{
    private const string Flags = "-O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -mllvm -enable-shrink-wrap=false";
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, string> s_built = [];

    public static string OutputDirectory { get; } = Path.Combine(Path.GetTempPath(), "parca-agent-tracees-" + Environment.ProcessId);

    /// <summary>The path of the tracee built from tracees/<paramref name="name"/>.c.</summary>
    public static string Build(string name)
    {
        lock (s_lock)
        {
            if (s_built.TryGetValue(name, out var existing))
            {
                return existing;
            }

            Directory.CreateDirectory(OutputDirectory);
            var source = Path.Combine(AppContext.BaseDirectory, "tracees", name + ".c");
            var output = Path.Combine(OutputDirectory, name);
            Run("clang", $"{Flags} -o {output} {source}");
            s_built[name] = output;
            return output;
        }
    }

    /// <summary>
    /// The tracee built like a distribution package: <paramref name="compiler"/> with <paramref name="flags"/> and no
    /// frame-pointer flags (gcc and clang omit them at -O1 and above on x86-64).
    /// </summary>
    public static string BuildNoFramePointers(string name, string compiler, string flags, string extension = ".c")
    {
        lock (s_lock)
        {
            var key = $"{name}|{compiler}|{flags}";
            if (s_built.TryGetValue(key, out var existing))
            {
                return existing;
            }

            Directory.CreateDirectory(OutputDirectory);
            var source = Path.Combine(AppContext.BaseDirectory, "tracees", name + extension);
            var output = Path.Combine(OutputDirectory, $"{name}-nofp-{compiler.Replace("+", "x", StringComparison.Ordinal)}");
            Run(compiler, $"{flags} -o {output} {source}");
            s_built[key] = output;
            return output;
        }
    }

    public static Process Start(string path, params string[] args)
    {
        var psi = new ProcessStartInfo(path) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + path);
    }

    /// <summary>The CPU seconds the tracee reports having used (its last line of output), after it exited.</summary>
    public static double CpuSeconds(Process tracee)
    {
        var output = tracee.StandardOutput.ReadToEnd();
        tracee.WaitForExit();
        var line = output.Split('\n').Last(l => l.StartsWith("cpu_seconds ", StringComparison.Ordinal));
        return double.Parse(line["cpu_seconds ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string Run(string file, string arguments)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {arguments} exited with {p.ExitCode}: {stderr}");
        }

        return stdout.Result;
    }
}
