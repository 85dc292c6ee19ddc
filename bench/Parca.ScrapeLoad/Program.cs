using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// Scrape load: N simulated Go pprof endpoints on loopback (serving the real Go profiles of
// ../shared/testdata/pprof/go-runtime, the CPU one only after ?seconds=N like Go), a `parca` server process
// configured to scrape all of them, and the server's CPU time and memory measured from /proc while it does.
//
//   dotnet run -c Release --project bench/Parca.ScrapeLoad -- [--targets 200] [--interval 10] [--warmup 30] [--measure 120]
//
// Needs a Release build of the server (make build).
var targets = Arg("--targets", 200);
var interval = Arg("--interval", 10);
var warmup = Arg("--warmup", 30);
var measure = Arg("--measure", 120);
var root = FindRoot();
var parcaDll = Path.Combine(root, "src/Parca.Server.Cli/bin/Release/net10.0/parca.dll");
if (!File.Exists(parcaDll))
{
    Console.Error.WriteLine($"build the server first (make build): {parcaDll} is missing");
    return 2;
}

var data = Path.GetFullPath(Path.Combine(root, "..", "shared", "testdata", "pprof", "go-runtime"));
var profiles = new Dictionary<string, byte[]>
{
    ["profile"] = File.ReadAllBytes(Path.Combine(data, "cpu.pb.gz")),
    ["allocs"] = File.ReadAllBytes(Path.Combine(data, "allocs.pb.gz")),
    ["heap"] = File.ReadAllBytes(Path.Combine(data, "heap.pb.gz")),
    ["goroutine"] = File.ReadAllBytes(Path.Combine(data, "goroutine.pb.gz")),
    ["block"] = File.ReadAllBytes(Path.Combine(data, "block.pb.gz")),
    ["mutex"] = File.ReadAllBytes(Path.Combine(data, "mutex.pb.gz")),
};

long served = 0;
var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(k =>
{
    for (var i = 0; i < targets; i++)
    {
        k.Listen(IPAddress.Loopback, 0);
    }
});
var endpoints = builder.Build();
endpoints.MapGet("/debug/pprof/{name}", async (string name, HttpContext http) =>
{
    if (!profiles.TryGetValue(name, out var body))
    {
        return Results.NotFound();
    }

    if (name == "profile" && int.TryParse(http.Request.Query["seconds"], CultureInfo.InvariantCulture, out var seconds))
    {
        await Task.Delay(TimeSpan.FromSeconds(seconds), http.RequestAborted); // Go's CPU endpoint blocks for the duration
    }

    Interlocked.Increment(ref served);
    return Results.Bytes(body, "application/octet-stream");
});
await endpoints.StartAsync();
var addresses = endpoints.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
    .Select(a => new Uri(a).Authority).ToList();

var dir = Directory.CreateTempSubdirectory("parca-scrape-load-").FullName;
var config = Path.Combine(dir, "parca.yaml");
await File.WriteAllTextAsync(config, $"""
    object_storage:
      bucket:
        type: FILESYSTEM
        config:
          directory: ./data
    scrape_configs:
      - job_name: load
        scrape_interval: {interval}s
        static_configs:
          - targets: [{string.Join(", ", addresses.Select(a => $"'{a}'"))}]
    """);

var port = FreePort();
var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
foreach (var a in new[] { parcaDll, $"--config-path={config}", $"--http-address=127.0.0.1:{port}", "--log-level=error", "--storage-retention=0" /* the served testdata profiles are years old */ })
{
    psi.ArgumentList.Add(a);
}

using var server = Process.Start(psi)!;
_ = server.StandardOutput.ReadToEndAsync();
_ = server.StandardError.ReadToEndAsync();
Console.WriteLine($"{targets} targets x 5 profiles, interval {interval}s; server pid {server.Id} on :{port}; warming up {warmup}s");
await Task.Delay(TimeSpan.FromSeconds(warmup));

var ticks = Environment.TickCount64;
var (cpu0, _) = ReadStat(server.Id);
var served0 = Interlocked.Read(ref served);
var rss = new List<long>();
for (var s = 0; s < measure; s++)
{
    await Task.Delay(1000);
    rss.Add(ReadRss(server.Id));
}

var (cpu1, _) = ReadStat(server.Id);
var seconds = (Environment.TickCount64 - ticks) / 1000.0;
var scrapes = Interlocked.Read(ref served) - served0;
using var http = new HttpClient();
var metrics = await http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
var failures = metrics.Split('\n').Where(l => l.StartsWith("parca_scrape_failures_total", StringComparison.Ordinal)).Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

var clk = 100.0; // USER_HZ on Linux
var cpuSeconds = (cpu1 - cpu0) / clk;
Console.WriteLine($"| {targets} | {interval}s | {scrapes / seconds:F1} | {cpuSeconds / seconds * 100:F1}% | {rss.Average() / 1048576:F0} MiB | {rss.Max() / 1048576:F0} MiB | {failures} |");
Console.WriteLine("(targets | interval | scrapes/s | server CPU (% of one core) | RSS avg | RSS max | scrape failures since start)");

server.Kill();
await server.WaitForExitAsync();
await endpoints.StopAsync();
Directory.Delete(dir, recursive: true);
return 0;

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static (long Cpu, long Start) ReadStat(int pid)
{
    var text = File.ReadAllText($"/proc/{pid}/stat");
    var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture), long.Parse(fields[19], CultureInfo.InvariantCulture));
}

static long ReadRss(int pid)
{
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
    {
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
    }

    return 0;
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static string FindRoot()
{
    var dir = AppContext.BaseDirectory;
    while (dir is not null && !File.Exists(Path.Combine(dir, "Parca.slnx")))
    {
        dir = Path.GetDirectoryName(dir);
    }

    return dir ?? throw new InvalidOperationException("Parca.slnx not found");
}
