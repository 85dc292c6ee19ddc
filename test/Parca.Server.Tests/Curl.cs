using System.Diagnostics;
using System.Globalization;

namespace Parca.Server.Tests;

/// <summary>curl as a real HTTP peer: status code, response headers and body.</summary>
internal static class Curl
{
    public sealed record Result(int Status, string Body, string Headers);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var headerFile = Path.GetTempFileName();
        try
        {
            var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in (string[])["-sS", "-m", "60", "-D", headerFile, "-w", "\n%{http_code}", .. args])
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
            return new Result(int.Parse(output[(cut + 1)..], CultureInfo.InvariantCulture), output[..cut], await File.ReadAllTextAsync(headerFile));
        }
        finally
        {
            File.Delete(headerFile);
        }
    }
}
