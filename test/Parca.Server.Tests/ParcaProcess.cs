using System.Diagnostics;
using System.Net;
using System.Text;

namespace Parca.Server.Tests;

/// <summary>The real <c>parca</c> executable as a child process on a free loopback port, with its output captured.</summary>
internal sealed class ParcaProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();

    private ParcaProcess(Process process, int port)
    {
        Process = process;
        Port = port;
    }

    public Process Process { get; }

    public int Port { get; }

    public string BaseAddress => $"http://127.0.0.1:{Port}";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Resident set size now and its peak so far (VmRSS, VmHWM of /proc/PID/status), in bytes.</summary>
    public (long Rss, long Peak) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{Process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line) * 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line) * 1024;
            }
        }

        return (rss, peak);
    }

    private static long Kilobytes(string line) =>
        long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    public static async Task<ParcaProcess> StartAsync(params string[] args)
    {
        var port = LoopbackPort.Free();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "parca.dll"));
        start.ArgumentList.Add($"--http-address=127.0.0.1:{port}");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var parca = new ParcaProcess(Process.Start(start)!, port);
        parca.Process.OutputDataReceived += (_, e) => parca.Append(e.Data);
        parca.Process.ErrorDataReceived += (_, e) => parca.Append(e.Data);
        parca.Process.BeginOutputReadLine();
        parca.Process.BeginErrorReadLine();
        using var http = new HttpClient();
        for (var i = 0; i < 600; i++)
        {
            if (parca.Process.HasExited)
            {
                throw new InvalidOperationException($"parca exited with {parca.Process.ExitCode}:\n{parca.Output}");
            }

            try
            {
                if ((await http.GetAsync($"{parca.BaseAddress}/healthz")).StatusCode == HttpStatusCode.OK)
                {
                    return parca;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        await parca.DisposeAsync();
        throw new InvalidOperationException($"parca did not answer /healthz within 60 s:\n{parca.Output}");
    }

    private void Append(string? line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>SIGTERM and wait: a graceful shutdown (the head is cut into blocks on the way out).</summary>
    public async Task StopAsync()
    {
        if (!Process.HasExited)
        {
            using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        }

        await Process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill();
        }

        await Process.WaitForExitAsync();
        Process.Dispose();
    }
}
