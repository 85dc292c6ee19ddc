using System.Diagnostics;

namespace Parca.TestSupport;

/// <summary>
/// Runs Debian's <c>go</c> offline (no module proxy, no toolchain download): building Go scrape targets and
/// <c>go tool pprof</c> / <c>addr2line</c>. A missing Go fails the test with the package to install.
/// </summary>
public static class GoTool
{
    public static string Run(string workingDirectory, params string[] args) => Run(workingDirectory, null, args);

    /// <param name="environment">extra variables (e.g. <c>PPROF_TMPDIR</c>).</param>
    public static string Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("go")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["GOPROXY"] = "off";
        psi.Environment["GOFLAGS"] = "-mod=mod";
        psi.Environment["GOTOOLCHAIN"] = "local";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("`go` not found: install Debian's golang-go (scripts/bootstrap.sh test does): " + e.Message, e);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"go {string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result}");
            }

            return stdout.Result;
        }
    }
}
