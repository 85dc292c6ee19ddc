using System.Diagnostics;

namespace Parca.Symbols.Tests;

/// <summary>Runs the reference tools (binutils, LLVM, clang) the tests compare against.</summary>
internal static class Tools
{
    public static string Run(string file, string arguments, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
        if (stdin is not null)
        {
            var writer = Task.Run(() =>
            {
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            });
            var output = p.StandardOutput.ReadToEnd();
            writer.Wait();
            p.WaitForExit();
            return output;
        }

        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? stdout : throw new InvalidOperationException($"{file} {arguments}: exit {p.ExitCode}: {stderr}");
    }

    /// <summary>Compiles a small C program with a build id; returns the binary's path.</summary>
    public static string CompileC(string source, string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "parca-symbols-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        var c = Path.Combine(dir, name + ".c");
        File.WriteAllText(c, source);
        var output = Path.Combine(dir, name);
        Run("clang", $"-O1 -Wl,--build-id=sha1 -o {output} {c}");
        return output;
    }

    /// <summary>Runs a bash script (set -eu) in <paramref name="directory"/>; returns its standard output.</summary>
    public static string Bash(string directory, string script)
    {
        var file = Path.Combine(directory, "script-" + Guid.NewGuid().ToString("N") + ".sh");
        File.WriteAllText(file, "cd '" + directory + "'\n" + script);
        return Run("bash", "-euo pipefail " + file);
    }

    /// <summary>A fresh directory for one test's files.</summary>
    public static string TempDirectory(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "parca-symbols-tests-" + Environment.ProcessId, name);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.CreateDirectory(dir);
        return dir;
    }
}
