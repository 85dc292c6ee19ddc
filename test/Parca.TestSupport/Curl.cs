using System.Diagnostics;
using System.Globalization;

namespace Parca.TestSupport;

/// <summary>curl as a real HTTP peer: status code, HTTP version, response headers and body.</summary>
public static class Curl
{
    public sealed record Result(int Status, string Version, string Body, string Headers);

    /// <summary>Runs curl with <paramref name="args"/>; throws naming curl's error when it fails (not on HTTP errors).</summary>
    public static async Task<Result> RunAsync(params string[] args)
    {
        var headerFile = Path.GetTempFileName();
        try
        {
            var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])["-sS", "-m", "60", "-D", headerFile, "-w", "\n%{http_code} %{http_version}", .. args])
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("curl did not start (is curl installed?)");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var output = await stdout;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"curl exited with {process.ExitCode}: {await stderr}");
            }

            var cut = output.LastIndexOf('\n');
            var tail = output[(cut + 1)..].Split(' ');
            return new Result(int.Parse(tail[0], CultureInfo.InvariantCulture), tail[1], output[..cut], await File.ReadAllTextAsync(headerFile));
        }
        finally
        {
            File.Delete(headerFile);
        }
    }
}
