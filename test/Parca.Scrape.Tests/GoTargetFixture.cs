using System.Diagnostics;

namespace Parca.Scrape.Tests;

/// <summary>
/// Builds <c>GoTarget/main.go</c> with Debian's Go and runs it: a real Go program serving net/http/pprof on
/// 127.0.0.1 with known hot functions (main.cpuHeavy, main.allocHeavy, main.parkedGoroutine x50,
/// main.blockOnChannel, main.contendMutex).
/// </summary>
public sealed class GoTargetFixture : IDisposable
{
    private readonly Process _process;
    private readonly string _dir;

    public GoTargetFixture()
    {
        _dir = Directory.CreateTempSubdirectory("parca-go-target-").FullName;
        var source = Path.Combine(RepoPaths.Root, "test", "Parca.Scrape.Tests", "GoTarget", "main.go");
        var binary = Path.Combine(_dir, "target");
        GoTool.Run(_dir, "build", "-o", binary, source);
        var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        _process = Process.Start(psi)!;
        Address = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the Go target printed no address: " + _process.StandardError.ReadToEnd());
    }

    /// <summary>host:port of the target.</summary>
    public string Address { get; }

    /// <summary>A scrape job (parca.yaml, indented for <see cref="TestServer.Config"/>) scraping only this target's goroutine profile every second.</summary>
    public string GoroutineJob(string jobName = "go") => $$"""
          - job_name: {{jobName}}
            scrape_interval: 1s
            static_configs:
              - targets: ['{{Address}}']
            profiling_config:
              pprof_config:
                block: { enabled: false }
                mutex: { enabled: false }
                memory: { enabled: false }
                process_cpu: { enabled: false }
        """;

    public void Dispose()
    {
        try
        {
            _process.Kill();
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
