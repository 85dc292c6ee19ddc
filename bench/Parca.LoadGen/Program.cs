using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Parca.Ingest;
using Parca.LoadGen;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;
using Parca.Storage;
using LabelSet = Parca.Storage.LabelSet;
using QueryService = Parca.Server.Services.QueryService;

// Load generator and end-to-end measurements for storage and query (numbers recorded in bench/README.md).
//   ingest  [agents=16] [seconds=20] [cores=8] [series-per-request=10]   N agents push WriteRaw over gRPC (h2c) to an in-process server
//   ingest-process [same arguments] [raw|arrow]                         the same against the Release `parca` started as its own process: its CPU alone,
//                                                                       then query latency (QueryRange, merged TOP) over what it stored;
//                                                                       arrow: the same samples as v2 records through WriteArrow (LZ4)
//   arrow-inproc [agents=4] [requests=2000] [series-per-request=10]     WriteArrow ingest alone on one thread (no gRPC): CPU per sample, bytes allocated per request
//   storage [series=100] [hours=24] [samples=100]                       24 h x N series appended directly; bytes/sample, merge, QueryRange
//   range [series=100] [hours=24] [runs=20]                             QueryRange alone: engine, QueryService response, serialized bytes, pre-encoded bytes (wall + CPU), gRPC call
//   reports [runs=5]                                                    report times, bytes and allocations for a large.cpu-sized and a 1M-node profile
//   merge [runs=20] [nodes=425000]                                      cold merges of one large profile in a fresh process: each call's wall ms in order
//   gocompare [profiles=360]                                            our merge vs `go tool pprof -proto` on the same pprof files
//   gocompare-large [copies=10]                                         the same with copies of the large.cpu-sized profile
//   replay [megabytes=512]                                              write-ahead log: write that much, then replay it at start-up (MB/s)
//   startup [blocks=1000]                                               start-up time of a store with that many block files
//   bucket [series=100] [hours=24] [samples=30] [synthetic]             object storage on S3 (S3_ENDPOINT etc.), testdata pprof files (or the synthetic fleet):
//                                                                       head/cold/warm queries, upload, B/sample, start-up, compaction
//   unwind-tables                                                       the agent's unwind tables: build time per MB of CFI, bytes per file, the whole machine's total
var mode = args.Length > 0 ? args[0] : "storage";
int Arg(int i, int d) => args.Length > i ? int.Parse(args[i], CultureInfo.InvariantCulture) : d;
switch (mode)
{
    case "ingest":
        await Ingest(Arg(1, 16), Arg(2, 20), Arg(3, 8), Arg(4, 10));
        break;
    case "ingest-process":
        return await IngestProcess(Arg(1, 16), Arg(2, 20), Arg(3, 8), Arg(4, 10), args.Length > 5 && args[5] == "arrow");
    case "arrow-inproc":
        ArrowIngestRun.Run(Arg(1, 4), Arg(2, 2000), Arg(3, 10));
        break;
    case "storage":
        await StorageRun(Arg(1, 100), Arg(2, 24), Arg(3, 100));
        break;
    case "phases":
        Phases();
        break;
    case "gocompare":
        await GoCompare(Arg(1, 360), large: false);
        break;
    case "gocompare-large":
        await GoCompare(Arg(1, 10), large: true);
        break;
    case "range":
        await RangeRun(Arg(1, 100), Arg(2, 24), Arg(3, 20));
        break;
    case "reports":
        await ReportsRun(Arg(1, 5));
        break;
    case "merge":
        MergeRun(Arg(1, 20), Arg(2, 425_000));
        break;
    case "replay":
        DurabilityRuns.Replay(Arg(1, 512));
        break;
    case "startup":
        await DurabilityRuns.Startup(Arg(1, 1000));
        break;
    case "bucket":
        await BucketRun.Run(Arg(1, 100), Arg(2, 24), Arg(3, 30), args.Length > 4 && args[4] == "synthetic");
        break;
    case "unwind-tables":
        UnwindTableRun.Run();
        break;
    default:
        Console.Error.WriteLine("usage: ingest|ingest-process|arrow-inproc|storage|range|reports|merge|gocompare|phases|replay|startup|bucket|unwind-tables [...]");
        return 2;
}

return 0;

static async Task Ingest(int agents, int seconds, int cores, int seriesPerRequest)
{
    var w = new Workload();
    var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
    Console.WriteLine($"generating payloads for {agents} agents ...");
    var fleet = new AgentFleet(w, agents, cores, start);

    await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", MaxMessageSize = 256 * 1024 * 1024 });
    await server.StartAsync();
    var store = server.Services.GetRequiredService<ProfileStore>();
    // The first `warmup` seconds are not measured: tiered compilation of the server, HTTP/2 and protobuf paths and
    // the first profiles' new symbols would otherwise count as steady-state ingest cost.
    var warmup = Math.Min(10, seconds / 3);
    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + warmup));
    long requests = 0, events = 0;
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var sw = Stopwatch.StartNew();
    long samples0 = 0;
    _ = Task.Delay(TimeSpan.FromSeconds(warmup)).ContinueWith(_ =>
    {
        Interlocked.Exchange(ref requests, 0);
        Interlocked.Exchange(ref events, 0);
        samples0 = store.IngestedSamples;
        cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        sw.Restart();
    }, TaskScheduler.Default);
    await fleet.RunAsync(server.BaseAddress.ToString().TrimEnd('/'), seriesPerRequest, _ =>
    {
        Interlocked.Increment(ref requests);
        Interlocked.Add(ref events, (long)19 * cores * 10 * seriesPerRequest);
    }, cts.Token);
    sw.Stop();
    var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
    var samples = store.IngestedSamples - samples0;
    var stats = store.Stats();
    Console.WriteLine($"ingest: {agents} agents x {seriesPerRequest} series/request, {cores} cores at 19 Hz, 10 s windows, {w.StackCount} distinct stacks; measured {seconds} s after {warmup} s warm-up");
    Console.WriteLine($"  {requests} requests, {requests * seriesPerRequest} profiles, {samples:N0} stored samples (distinct stacks per profile), {events:N0} sampled events in {sw.Elapsed.TotalSeconds:F1} s");
    Console.WriteLine($"  => {samples / sw.Elapsed.TotalSeconds:N0} samples/s, {requests * seriesPerRequest / sw.Elapsed.TotalSeconds:N0} profiles/s, {events / sw.Elapsed.TotalSeconds:N0} events/s");
    Console.WriteLine($"  head: {stats.HeadBytes / (double)Math.Max(1, stats.HeadSamples):F1} B/sample");

    // CPU time of the whole process (server, in-process client, GC, JIT): on a shared machine the wall-clock rate
    // measures the load, this measures the cost. × cores = what the machine sustains when the process has it alone.
    Console.WriteLine($"  CPU: {cpuSeconds:F1} s used ({cpuSeconds / sw.Elapsed.TotalSeconds:F2} of {Environment.ProcessorCount} cores) => {samples / cpuSeconds:N0} samples per CPU-second, {samples / cpuSeconds * Environment.ProcessorCount:N0} samples/s projected on {Environment.ProcessorCount} idle cores");
}

// The server as users run it (the Release `parca`, its own process, no self-scrape), so the server's CPU is measured
// apart from the load generator's: stored samples per server CPU-second × cores is what the machine sustains when
// the agents are elsewhere, as they are in production.
static async Task<int> IngestProcess(int agents, int seconds, int cores, int seriesPerRequest, bool arrow)
{
    var root = AppContext.BaseDirectory;
    while (!File.Exists(Path.Combine(root, "Parca.slnx")))
    {
        root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Parca.slnx not found");
    }

    // PARCA_DLL runs another build (e.g. the previous version, for a before/after comparison in one sitting).
    var dll = Environment.GetEnvironmentVariable("PARCA_DLL") ?? Path.Combine(root, "src/Parca.Server.Cli/bin/Release/net10.0/parca.dll");
    if (!File.Exists(dll))
    {
        Console.Error.WriteLine($"build the server first (make build): {dll} is missing");
        return 2;
    }

    var fleetStart = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
    var fleet = new AgentFleet(new Workload(), agents, cores, fleetStart);
    if (arrow)
    {
        fleet.UseArrow(seriesPerRequest);
    }

    var dir = Directory.CreateTempSubdirectory("parca-ingest-");
    var config = Path.Combine(dir.FullName, "parca.yaml");
    File.WriteAllText(config, $"object_storage:\n  bucket:\n    type: FILESYSTEM\n    config:\n      directory: {Path.Combine(dir.FullName, "data")}\nscrape_configs: []\n");
    int port;
    using (var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
    {
        l.Start();
        port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
    }

    var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
    // PARCA_ARGS adds server flags, e.g. "--enable-persistence --storage-enable-wal" (the storage path is this run's
    // temporary directory, as the working directory).
    var extra = (Environment.GetEnvironmentVariable("PARCA_ARGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
    foreach (var a in new[] { dll, $"--config-path={config}", $"--http-address=127.0.0.1:{port}", "--log-level=error", "--grpc-max-message-size=268435456" }.Concat(extra))
    {
        psi.ArgumentList.Add(a);
    }

    using var server = Process.Start(psi)!;
    _ = server.StandardOutput.ReadToEndAsync();
    _ = server.StandardError.ReadToEndAsync();
    try
    {
        var tls = Environment.GetEnvironmentVariable("LOADGEN_TLS_CA") is not null;
        var address = $"{(tls ? "https" : "http")}://127.0.0.1:{port}";
        // The readiness probe only waits for the port (/healthz is open under auth; the certificate is the agents' concern).
        using (var probe = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = static (_, _, _, _) => true }))
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    (await probe.GetAsync(address + "/healthz")).EnsureSuccessStatusCode();
                    break;
                }
                catch (HttpRequestException) when (i < 300)
                {
                    await Task.Delay(100);
                }
            }
        }

        var warmup = Math.Min(10, seconds / 3);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + warmup));
        long samples = 0, requests = 0;
        var measuring = false;
        var serverCpu0 = TimeSpan.Zero;
        var ownCpu0 = TimeSpan.Zero;
        var sw = new Stopwatch();
        _ = Task.Delay(TimeSpan.FromSeconds(warmup)).ContinueWith(_ =>
        {
            server.Refresh();
            serverCpu0 = server.TotalProcessorTime;
            ownCpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            Interlocked.Exchange(ref samples, 0);
            Interlocked.Exchange(ref requests, 0);
            Volatile.Write(ref measuring, true);
            sw.Start();
        }, TaskScheduler.Default);
        await fleet.RunAsync(address, seriesPerRequest, n =>
        {
            if (Volatile.Read(ref measuring))
            {
                Interlocked.Add(ref samples, n);
                Interlocked.Increment(ref requests);
            }
        }, cts.Token);
        sw.Stop();
        server.Refresh();
        var serverCpu = (server.TotalProcessorTime - serverCpu0).TotalSeconds;
        var ownCpu = (Process.GetCurrentProcess().TotalProcessorTime - ownCpu0).TotalSeconds;
        var elapsed = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"ingest-process ({(arrow ? "WriteArrow v2, LZ4" : "WriteRaw")}): {agents} agents x {seriesPerRequest} series/request to parca pid {server.Id}; measured {seconds} s after {warmup} s warm-up");
        Console.WriteLine($"  {requests * seriesPerRequest:N0} profiles, {samples:N0} stored samples in {elapsed:F1} s => {samples / elapsed:N0} samples/s wall clock (load generator on the same 2 cores)");
        Console.WriteLine($"  server CPU {serverCpu:F1} s ({serverCpu / elapsed:F2} cores), load generator CPU {ownCpu:F1} s ({ownCpu / elapsed:F2} cores)");
        Console.WriteLine($"  => {samples / serverCpu:N0} samples per server CPU-second, {samples / serverCpu * Environment.ProcessorCount:N0} samples/s on {Environment.ProcessorCount} cores with the agents elsewhere");
        await MeasureQueriesAsync(address, fleetStart);
        return 0;
    }
    finally
    {
        server.Kill(entireProcessTree: true);
        await server.WaitForExitAsync();
        dir.Delete(recursive: true);
    }
}

// Query latency against the server the ingest run filled (its data as it stands after the run): QueryRange summed by
// node, and a merged TOP report, each 20 times after 3 warm-ups; median and 95th percentile of the wall clock.
// LOADGEN_READ_TOKEN is sent when the server runs with --auth-read-token-file.
static async Task MeasureQueriesAsync(string address, long fleetStart)
{
    using var channel = RpcChannel.Create(address, new RpcChannelOptions
    {
        TlsCaFile = Environment.GetEnvironmentVariable("LOADGEN_TLS_CA"),
        BearerToken = Environment.GetEnvironmentVariable("LOADGEN_READ_TOKEN"),
        MaxMessageSize = 256 * 1024 * 1024,
    });
    const string Selector = "parca_agent:samples:count:cpu:nanoseconds:delta{}";
    var start = QueryService.ToTimestamp(fleetStart - 60_000_000_000);
    var end = QueryService.ToTimestamp(fleetStart + (24L * 3600 * 1_000_000_000));
    var range = new QueryRangeRequest { Query = Selector, Start = start, End = end, Step = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(10)), SumBy = { "node" } };
    var merge = new QueryRequest { Mode = QueryRequest.Types.Mode.Merge, Merge = new MergeProfile { Query = Selector, Start = start, End = end }, ReportType = QueryRequest.Types.ReportType.Top };
    var series = 0;
    var rangeTimes = await TimeAsync(async () => series = (await channel.UnaryAsync(ParcaApi.QueryService.QueryRange, range)).Series.Count);
    var topRows = 0;
    var endNanos = fleetStart + (24L * 3600 * 1_000_000_000);
    var call = 0L;
    // Each call ends one nanosecond later (same data): a new selection for the server's report cache, so every call merges.
    var mergeTimes = await TimeAsync(async () =>
    {
        merge.Merge.End = QueryService.ToTimestamp(endNanos + ++call);
        topRows = (await channel.UnaryAsync(ParcaApi.QueryService.Query, merge)).Top.List.Count;
    });
    Console.WriteLine($"  queries: QueryRange sum by node ({series} series) median {rangeTimes[10]:F1} ms, p95 {rangeTimes[18]:F1} ms; merge TOP ({topRows} rows) median {mergeTimes[10]:F1} ms, p95 {mergeTimes[18]:F1} ms");

    static async Task<double[]> TimeAsync(Func<Task> call)
    {
        for (var i = 0; i < 3; i++)
        {
            await call();
        }

        var times = new double[20];
        for (var i = 0; i < times.Length; i++)
        {
            var sw = Stopwatch.StartNew();
            await call();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        return times;
    }
}

static async Task StorageRun(int seriesCount, int hours, int samplesPerProfile)
{
    var w = new Workload();
    var rng = new Random(7);
    var variants = Enumerable.Range(0, 64).Select(_ => w.Ingest(rng, 0, samplesPerProfile * 3)).ToArray();
    var perSeries = hours * 360;
    var t0 = DateTimeOffset.UtcNow.AddHours(-hours).ToUnixTimeMilliseconds() * 1_000_000;
    const long Step = 10_000_000_000;
    var labels = Enumerable.Range(0, seriesCount).Select(s => LabelSet.From(("job", "svc"), ("instance", $"i-{s}"))).ToArray();
    using var store = new ProfileStore(new StorageOptions { ActiveMemoryBytes = 512L * 1024 * 1024 });
    var sw = Stopwatch.StartNew();
    long samples = 0;
    var headPeakBytes = 0L;
    var headPeakSamples = 0L;
    for (var t = 0; t < perSeries; t++)
    {
        for (var s = 0; s < seriesCount; s++)
        {
            var p = variants[(t + s) % variants.Length];
            p.TimeNanos = t0 + (t * Step);
            samples += store.Append("parca_agent", labels[s], p);
        }

        if (t % 360 == 0)
        {
            var st = store.Stats();
            if (st.HeadSamples > headPeakSamples)
            {
                headPeakSamples = st.HeadSamples;
                headPeakBytes = st.HeadBytes;
            }
        }
    }

    var appendSeconds = sw.Elapsed.TotalSeconds;
    var beforeFlush = store.Stats();
    await store.FlushAsync();
    var stats = store.Stats();
    Console.WriteLine($"storage: {seriesCount} series x {hours} h at 10 s = {(long)seriesCount * perSeries:N0} profiles, {samples:N0} samples ({samples / ((long)seriesCount * perSeries)} per profile)");
    Console.WriteLine($"  append (single writer, symbols interned per profile): {samples / appendSeconds:N0} samples/s ({appendSeconds:F1} s)");
    Console.WriteLine($"  head: {(double)Math.Max(headPeakBytes, beforeFlush.HeadBytes) / Math.Max(headPeakSamples, Math.Max(1, beforeFlush.HeadSamples)):F1} B/sample (estimated buffers)");
    Console.WriteLine($"  blocks: {stats.Blocks}, sample columns {stats.BlockSampleBytes / (double)stats.BlockSamples:F2} B/sample in memory, files {stats.BlockFileBytes / (double)stats.BlockSamples:F2} B/sample on disk (all sections, compressed)");

    var engine = new QueryEngine(store);
    var end = t0 + (perSeries * Step);
    const string Type = "parca_agent:samples:count:cpu:nanoseconds:delta";
    engine.Query(ProfileSelection.Merge(Type + "{job=\"svc\"}", t0, end)); // warm up
    var best = double.MaxValue;
    MergeResult? r = null;
    for (var i = 0; i < 3; i++)
    {
        sw.Restart();
        r = engine.Query(ProfileSelection.Merge(Type + "{job=\"svc\"}", t0, end));
        best = Math.Min(best, sw.Elapsed.TotalSeconds);
    }

    Console.WriteLine($"  merge 24 h x {seriesCount} series: {best * 1000:F0} ms, {samples / best:N0} samples/s ({samples / best / Environment.ProcessorCount:N0} /s/core on {Environment.ProcessorCount} cores, single-threaded merge), {r!.ProfileCount} profiles, total {r.Total}");

    var rangeBest = double.MaxValue;
    var points = 0;
    for (var i = 0; i < 5; i++)
    {
        sw.Restart();
        var series = engine.QueryRange(Type + "{job=\"svc\"}", t0, end, Step, ["instance"]);
        rangeBest = Math.Min(rangeBest, sw.Elapsed.TotalMilliseconds);
        points = series.Sum(x => x.Count);
    }

    Console.WriteLine($"  QueryRange 24 h x {seriesCount} series, 10 s step, sum_by instance: {rangeBest:F1} ms ({points:N0} points)");
    MeasureRange(engine, Type + "{job=\"svc\"}", t0, end - Step, 5);
}

// QueryRange only reads profile rows: tiny profiles (2 samples) make the 864,000-row store in seconds.
static async Task RangeRun(int seriesCount, int hours, int runs)
{
    const long Step = 10_000_000_000;
    var variants = new Parca.Storage.Ingest.IngestProfile[16];
    for (var v = 0; v < variants.Length; v++)
    {
        var b = new Parca.Storage.Ingest.IngestBuilder(("samples", "count")) { Period = 52_631_578, DurationNanos = Step };
        b.Sample("main;run;work" + (v % 4), 1 + v);
        b.Sample("main;run;gc", 2 + (v % 3));
        variants[v] = b.Build();
    }

    var perSeries = hours * 360;
    var t0 = DateTimeOffset.UtcNow.AddHours(-hours).ToUnixTimeMilliseconds() / 10_000 * 10_000_000_000;
    var labels = Enumerable.Range(0, seriesCount).Select(s => LabelSet.From(("job", "svc"), ("instance", $"i-{s}"))).ToArray();
    // The server's own store, so the same data is also queried through the real RPC layer (gRPC over h2c).
    await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error" });
    await server.StartAsync();
    var store = server.Services.GetRequiredService<ProfileStore>();
    for (var t = 0; t < perSeries; t++)
    {
        for (var s = 0; s < seriesCount; s++)
        {
            var p = variants[(t + s) & 15];
            p.TimeNanos = t0 + (t * Step);
            store.Append("parca_agent", labels[s], p);
        }
    }

    await store.FlushAsync();
    Console.WriteLine($"range: {seriesCount} series x {hours} h at 10 s = {(long)seriesCount * perSeries:N0} profiles in {store.Stats().Blocks} blocks");
    const string Query = "parca_agent:samples:count:cpu:nanoseconds:delta{job=\"svc\"}";
    var end = t0 + ((perSeries - 1) * Step);
    MeasureRange(new QueryEngine(store), Query, t0, end, runs);

    using var channel = RpcChannel.Create(server.BaseAddress.ToString().TrimEnd('/'), new RpcChannelOptions());
    var request = new Parca.Protocol.Query.V1Alpha1.QueryRangeRequest
    {
        Query = Query,
        Start = QueryService.ToTimestamp(t0),
        End = QueryService.ToTimestamp(end),
        Step = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
        SumBy = { "instance" },
    };
    var best = double.MaxValue;
    for (var i = 0; i < runs + 3; i++)
    {
        var sw = Stopwatch.StartNew();
        var response = await channel.UnaryAsync(ParcaApi.QueryService.QueryRange, request);
        if (i >= 3)
        {
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }

        if (response.Series.Count != seriesCount)
        {
            throw new InvalidOperationException($"expected {seriesCount} series, got {response.Series.Count}");
        }
    }

    Console.WriteLine($"    {"gRPC call (server + h2c + client parse)",-38} wall best {best,7:F1} ms");
}

// Wall (best of runs) and CPU time per call (process CPU incl. GC threads, averaged) of the engine alone, of
// QueryService's handler (engine + response message) and of the handler plus serializing the message.
static void MeasureRange(QueryEngine engine, string query, long start, long end, int runs)
{
    const long Step = 10_000_000_000;
    var request = new Parca.Protocol.Query.V1Alpha1.QueryRangeRequest
    {
        Query = query,
        Start = QueryService.ToTimestamp(start),
        End = QueryService.ToTimestamp(end),
        Step = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromTicks(Step / 100)),
    };
    request.SumBy.Add("instance");
    var points = engine.QueryRange(query, start, end, Step, ["instance"]).Sum(s => s.Count);
    var bytes = QueryService.QueryRange(engine, request).CalculateSize();
    var buffer = new byte[bytes];
    var cases = new (string Name, Func<int> Run)[]
    {
        ("engine", () => engine.QueryRange(query, start, end, Step, ["instance"]).Count),
        ("service (engine + response message)", () => QueryService.QueryRange(engine, request).Series.Count),
        ("service + serialize", () =>
        {
            var r = QueryService.QueryRange(engine, request);
            var n = r.CalculateSize();
            r.WriteTo(buffer.AsSpan(0, n));
            return n;
        }),
        ("service, pre-encoded bytes (new path)", () =>
        {
            using var r = QueryService.QueryRangeEncoded(engine, request);
            return r.Bytes.Length;
        }),
    };
    var process = Process.GetCurrentProcess();
    Console.WriteLine($"  QueryRange {points:N0} points, response {bytes:N0} bytes; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
    foreach (var (name, run) in cases)
    {
        for (var i = 0; i < 3; i++)
        {
            run();
        }

        var best = double.MaxValue;
        var gen0 = GC.CollectionCount(0);
        var gen2 = GC.CollectionCount(2);
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }

        process.Refresh();
        var cpuMs = (process.TotalProcessorTime - cpu).TotalMilliseconds / runs;
        Console.WriteLine($"    {name,-38} wall best {best,7:F1} ms   CPU {cpuMs,7:F1} ms/call   GCs/call gen0 {(GC.CollectionCount(0) - gen0) / (double)runs:F1} gen2 {(GC.CollectionCount(2) - gen2) / (double)runs:F1}");
    }
}

static void Phases()
{
    // Each operation is timed alone, 300 times after a warm-up (JIT tiers, pools). The minimum is the cost of
    // an uninterrupted run — stable even on the shared, heavily loaded machine — and the median shows the load.
    static void Measure(string name, Action<int> op)
    {
        // Warm up for at least 1 s: tiered compilation promotes hot methods only after a quiet period, which takes
        // long on a loaded machine.
        var warm = Stopwatch.StartNew();
        for (var i = 0; i < 100 || warm.ElapsedMilliseconds < 1000; i++)
        {
            op(i);
        }

        var times = new double[300];
        var t = new Stopwatch();
        for (var i = 0; i < times.Length; i++)
        {
            t.Restart();
            op(i);
            times[i] = t.Elapsed.TotalMicroseconds;
        }

        Array.Sort(times);
        Console.WriteLine($"  {name,-44} min {times[0],8:F0} us   median {times[times.Length / 2],8:F0} us");
    }

    var wl = new Workload();
    var r0 = new Random(5);
    var payloads = Enumerable.Range(0, 16).Select(_ => wl.Pprof(r0, 1, 8)).ToArray();
    var rawPayloads = payloads.Select(pl => Parca.Pprof.PprofEncoder.Encode(Parca.Pprof.PprofDecoder.DecodeProfile(pl), compress: false)).ToArray();
    using var flat = new Parca.Pprof.FlatProfile();
    Parca.Pprof.PprofDecoder.Decode(payloads[0], flat, Parca.Pprof.PprofReadOptions.ParcaCompatible);
    Console.WriteLine($"phases, one 8-core window: {flat.SampleCount} samples, {flat.Locations.Length} locations, {flat.StringCount} strings, {payloads[0].Length} bytes gzipped, {rawPayloads[0].Length} inflated");
    var inflated = new byte[rawPayloads.Max(r => r.Length) + 1];
    Measure("pprof decode (inflate + parse + validate)", i => Parca.Pprof.PprofDecoder.Decode(payloads[i % 16], flat, Parca.Pprof.PprofReadOptions.ParcaCompatible));
    Measure("  inflate only (GZipStream)", i =>
    {
        using var gz = new System.IO.Compression.GZipStream(new MemoryStream(payloads[i % 16]), System.IO.Compression.CompressionMode.Decompress);
        var total = 0;
        int read;
        while ((read = gz.Read(inflated, total, inflated.Length - total)) > 0)
        {
            total += read;
        }
    });
    Measure("  parse + validate only (uncompressed)", i => Parca.Pprof.PprofDecoder.Decode(rawPayloads[i % 16], flat, Parca.Pprof.PprofReadOptions.ParcaCompatible));
    Parca.Pprof.PprofDecoder.Decode(payloads[0], flat, Parca.Pprof.PprofReadOptions.ParcaCompatible);
    Parca.Storage.Ingest.IngestProfile ip = Parca.Storage.Ingest.PprofIngest.ToIngest(flat);
    Measure("adapter (FlatProfile -> IngestProfile)", _ => ip = Parca.Storage.Ingest.PprofIngest.ToIngest(flat));
    Measure("content hashing (outside the head lock)", _ => Parca.Storage.Symbols.SymbolDb.Prepare(ip));
    var walRecord = new Parca.Storage.Internal.ByteWriter(64 * 1024);
    var walLabels = LabelSet.From(("instance", "host-1:7070"), ("job", "api"));
    Measure("write-ahead log: encode the record", _ =>
    {
        walRecord.Clear();
        Parca.Storage.Wal.WalRecordCodec.Encode(walRecord, "process_cpu", walLabels, ip);
    });
    Console.WriteLine($"  (write-ahead log record: {walRecord.Length:N0} bytes)");
    Measure("write-ahead log: CRC-32C of the record", _ => Parca.Storage.Wal.WalChecksum.Compute(walRecord.Written));
    var prepared = Parca.Storage.Symbols.SymbolDb.Prepare(ip);
    var hp = new Parca.Storage.Head.HeadPartition();
    var seq = 0;
    Measure("append under the head lock (steady state)", _ =>
    {
        ip.TimeNanos = ++seq;
        hp.Append("x", LabelSet.Empty, prepared);
    });
    using var st = new ProfileStore(new StorageOptions { ActiveMemoryBytes = 8L << 30, Retention = TimeSpan.Zero }); // profiles at t = 1 ns
    var pw = new ProfileWriter(st);
    Measure("ProfileWriter.Write (all of the above)", i =>
        pw.Write([new WriteSeries([new("__name__", "x"), new("node", "n")], [new WriteSample(payloads[i % 16], null)])]));
    var alloc = GC.GetAllocatedBytesForCurrentThread();
    for (var i = 0; i < 100; i++)
    {
        pw.Write([new WriteSeries([new("__name__", "x"), new("node", "n")], [new WriteSample(payloads[i % 16], null)])]);
    }

    Console.WriteLine($"  allocated per ProfileWriter.Write: {(GC.GetAllocatedBytesForCurrentThread() - alloc) / 100 / 1024.0:F0} KB");

    var w = new Workload();
    var rng = new Random(7);
    var variants = Enumerable.Range(0, 64).Select(_ => w.Ingest(rng, 0, 1520)).ToArray();
    var head = new Parca.Storage.Head.HeadPartition();
    Measure("head append, .NET-string ingest profile", i =>
    {
        variants[i % 64].TimeNanos = i;
        head.Append("x", LabelSet.Empty, variants[i % 64]);
    });
}

static async Task GoCompare(int profiles, bool large)
{
    var w = new Workload();
    var rng = new Random(3);
    var dir = Directory.CreateTempSubdirectory("parca-gocompare-").FullName;
    var t0 = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds() * 1_000_000;
    var files = new List<string>();
    for (var i = 0; i < profiles; i++)
    {
        var f = Path.Combine(dir, $"p{i:D5}.pb.gz");
        var time = t0 + (i * 10_000_000_000L);
        // large: copies of the large.cpu-sized profile (425k call-tree nodes each), as the reports section uses.
        await File.WriteAllBytesAsync(f, large ? Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(425_000, timeNanos: time)) : w.Pprof(rng, time, 8));
        files.Add(f);
    }

    using var store = new ProfileStore(new StorageOptions());
    var writer = new ProfileWriter(store);
    var sw = Stopwatch.StartNew();
    long samples = 0;
    foreach (var f in files)
    {
        samples += writer.Write([new WriteSeries([new("__name__", "parca_agent"), new("job", "x")], [new WriteSample(await File.ReadAllBytesAsync(f), null)])]);
    }

    var ingestMs = sw.Elapsed.TotalMilliseconds;
    var engine = new QueryEngine(store);
    var best = double.MaxValue;
    byte[] pprof = [];
    for (var i = 0; i < 5; i++)
    {
        sw.Restart();
        var r = engine.Query(ProfileSelection.Merge("parca_agent:samples:count:cpu:nanoseconds:delta{job=\"x\"}", 0, long.MaxValue));
        pprof = Parca.Query.Reports.PprofReport.Build(r);
        best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
    }

    var psi = new ProcessStartInfo("go") { RedirectStandardOutput = true, RedirectStandardError = true };
    foreach (var a in new[] { "tool", "pprof", "-proto", "-symbolize=none" }.Concat(files))
    {
        psi.ArgumentList.Add(a);
    }

    psi.Environment["HOME"] = dir;
    var goBest = double.MaxValue;
    for (var i = 0; i < 3; i++)
    {
        sw.Restart();
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await output;
        goBest = Math.Min(goBest, sw.Elapsed.TotalMilliseconds);
    }

    Console.WriteLine($"gocompare: {profiles} pprof files ({(large ? "large.cpu-sized copies" : "8 cores x 19 Hz x 10 s each")}), {samples:N0} samples; load: {File.ReadAllText("/proc/loadavg").Trim()}");
    Console.WriteLine($"  ours: merge + pprof report {best:F1} ms ({samples / (best / 1000):N0} samples/s); decode+ingest once {ingestMs:F0} ms");
    Console.WriteLine($"  go tool pprof -proto (read + merge + write): {goBest:F0} ms");
    Console.WriteLine($"  ratio (query vs go): {goBest / best:F1}x; (ingest+query vs go): {goBest / (best + ingestMs):F1}x");
    Directory.Delete(dir, true);
}

// Report sizes and times for a large.cpu-sized profile (20k stacks, 425k nodes) and a 1M-node one: each report type,
// untrimmed and with the UI's default trim (one pixel of a 1600 px flame graph), end to end over gRPC (h2c) against
// an in-process server, plus the bytes allocated by the server's handler alone (engine merge + report).
static async Task ReportsRun(int runs)
{
    await using var server = ParcaServer.Create(new ParcaServerOptions { HttpAddress = "127.0.0.1:0", LogLevel = "error", MaxMessageSize = 256 * 1024 * 1024 });
    await server.StartAsync();
    var store = server.Services.GetRequiredService<ProfileStore>();
    var writer = new ProfileWriter(store);
    var t = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds() * 1_000_000;
    var sizes = new[] { ("large.cpu-sized", 425_000, "large"), ("1M nodes", 1_000_000, "huge") };
    foreach (var (_, nodes, job) in sizes)
    {
        var p = LargeProfile.Generate(nodes, timeNanos: t);
        writer.Write([new WriteSeries([new("__name__", "cpu"), new("job", job)], [new WriteSample(Parca.Pprof.PprofEncoder.Encode(p), null)])]);
    }

    using var channel = RpcChannel.Create(server.BaseAddress.ToString().TrimEnd('/'), new RpcChannelOptions { MaxMessageSize = 256 * 1024 * 1024 });
    var handler = new QueryService(new QueryEngine(store), new ParcaServerOptions(), new Parca.Query.Reports.ReportLimits(1L << 32, 256 * 1024 * 1024));
    var engine = new QueryEngine(store);
    foreach (var (name, _, job) in sizes)
    {
        var selection = ProfileSelection.Merge($"cpu:samples:count:cpu:nanoseconds:delta{{job=\"{job}\"}}", t - 60_000_000_000, t + 60_000_000_000);
        for (var i = 0; i < 3; i++)
        {
            var (merge, r) = Cpu(() => engine.Query(selection));
            var (graph, g) = Cpu(() => Parca.Query.Reports.FlameGraph.Build(r));
            var (trim, kept) = Cpu(() => g.Trim(0).Kept);
            var (arrow, record) = Cpu(() => Parca.Query.Arrow.FlameGraphArrow.Build(g, kept).Record);
            var (table, tt) = Cpu(() => Parca.Query.Reports.TopTable.Build(r));
            var (tableArrow, _) = Cpu(() => Parca.Query.Arrow.TableArrowReport.Build(tt, r));
            Console.WriteLine($"phases {name}: merge {merge:F0} ms ({r.Tree.Count:N0} stack nodes), frame graph {graph:F0} ms ({g.Count:N0} nodes), trim {trim:F0} ms, flame arrow {arrow:F0} ms ({record.Length:N0} B), table {table:F0} ms ({tt.Count:N0} rows), table arrow {tableArrow:F0} ms (CPU time)");
        }
    }

    Console.WriteLine($"reports: best of {runs} after 2 warm-ups; load: {File.ReadAllText("/proc/loadavg").Trim()}");
    Console.WriteLine("  cold: a selection not asked before (the merge, the frame graph and the report); after flame: the same selection right");
    Console.WriteLine("  after its FLAMEGRAPH_ARROW at the UI's trim, as the UI asks (the merged result and graph come from the report cache)");
    Console.WriteLine($"{"profile",-16} {"report",-17} {"trim",-6} {"cold e2e",9} {"after flame",11} {"handler ms",10} {"handler CPU",11} {"bytes",12} {"allocated",12} {"alloc/bytes",11}");
    long unique = 0;
    foreach (var (name, _, job) in sizes)
    {
        foreach (var type in new[] { QueryRequest.Types.ReportType.FlamegraphArrow, QueryRequest.Types.ReportType.TableArrow, QueryRequest.Types.ReportType.Top, QueryRequest.Types.ReportType.Callgraph, QueryRequest.Types.ReportType.Pprof })
        {
            foreach (var trim in type == QueryRequest.Types.ReportType.FlamegraphArrow ? new float?[] { 0f, 100f / 1600 } : [null])
            {
                // Each run's selection ends one nanosecond later than the last: the same data, a new cache key.
                QueryRequest Request(QueryRequest.Types.ReportType reportType, float? threshold, long end)
                {
                    var request = new QueryRequest
                    {
                        Mode = QueryRequest.Types.Mode.Merge,
                        Merge = new MergeProfile { Query = $"cpu:samples:count:cpu:nanoseconds:delta{{job=\"{job}\"}}", Start = QueryService.ToTimestamp(t - 60_000_000_000), End = QueryService.ToTimestamp(end) },
                        ReportType = reportType,
                    };
                    if (threshold is { } th)
                    {
                        request.NodeTrimThreshold = th;
                    }

                    return request;
                }

                double cold = double.MaxValue, warm = double.MaxValue, local = double.MaxValue, cpu = double.MaxValue;
                long bytes = 0, allocated = long.MaxValue;
                for (var i = 0; i < runs + 2; i++)
                {
                    var end = t + 60_000_000_000 + ++unique;
                    var sw = Stopwatch.StartNew();
                    var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, Request(type, trim, end));
                    var ms = sw.Elapsed.TotalMilliseconds;
                    bytes = response.CalculateSize();
                    if (response.Total == 0)
                    {
                        throw new InvalidOperationException($"{job} selected nothing");
                    }

                    end = t + 60_000_000_000 + ++unique;
                    await channel.UnaryAsync(ParcaApi.QueryService.Query, Request(QueryRequest.Types.ReportType.FlamegraphArrow, 100f / 1600, end));
                    sw.Restart();
                    await channel.UnaryAsync(ParcaApi.QueryService.Query, Request(type, trim, end));
                    var wms = sw.Elapsed.TotalMilliseconds;

                    GC.Collect();
                    // The handler runs on this thread alone (no parallel merge), so the thread's own counter is exact;
                    // the process-wide GC.GetTotalAllocatedBytes(true) went backwards by ~3 GiB across some untrimmed
                    // flame-graph queries (negative "allocated" figures on 2026-12-07), so it is not used.
                    var before = GC.GetAllocatedBytesForCurrentThread();
                    sw.Restart();
                    var (cms, _) = Cpu(() =>
                    {
                        // What the server sends: TOP as its encoded bytes, the other reports as messages, serialized.
                        using var encoded = handler.ExecuteEncoded(Request(type, trim, end));
                        return encoded.Message?.CalculateSize() ?? encoded.Bytes.Length;
                    });
                    var lms = sw.Elapsed.TotalMilliseconds;
                    var alloc = GC.GetAllocatedBytesForCurrentThread() - before;
                    if (i >= 2)
                    {
                        (cold, warm, local, allocated, cpu) = (Math.Min(cold, ms), Math.Min(warm, wms), Math.Min(local, lms), Math.Min(allocated, alloc), Math.Min(cpu, cms));
                    }
                }

                var label = type.ToString();
                Console.WriteLine($"{name,-16} {label,-17} {(trim is { } x ? $"{x:0.###}%" : "-"),-6} {cold,9:F1} {warm,11:F1} {local,10:F1} {cpu,11:F1} {bytes,12:N0} {allocated,12:N0} {(double)allocated / bytes,11:F1}");
            }
        }

        Console.WriteLine($"{name}: process peak working set so far {Process.GetCurrentProcess().PeakWorkingSet64 / (1 << 20):N0} MiB");
    }
}

// The merge alone, cold (each call a new result), on a fresh process: every call's wall time in order, so the first
// calls show what a server's first queries pay (JIT tiers, first-touch of pooled arrays) and the last ones the steady
// state.
static void MergeRun(int runs, int nodes)
{
    using var store = new ProfileStore();
    var t = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds() * 1_000_000;
    new ProfileWriter(store).Write([new WriteSeries([new("__name__", "cpu"), new("job", "large")], [new WriteSample(Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(nodes, timeNanos: t)), null)])]);
    var engine = new QueryEngine(store);
    var selection = ProfileSelection.Merge("cpu:samples:count:cpu:nanoseconds:delta{job=\"large\"}", t - 60_000_000_000, t + 60_000_000_000);
    var times = new List<string>();
    for (var i = 0; i < runs; i++)
    {
        var sw = Stopwatch.StartNew();
        var r = engine.Query(selection);
        times.Add($"{sw.Elapsed.TotalMilliseconds:F1}");
        if (i == 0)
        {
            Console.WriteLine($"merge: {r.Tree.Count:N0} result nodes, {r.Symbols.Locations.Count:N0} locations");
        }
    }

    Console.WriteLine($"merge ms per call: {string.Join(' ', times)}; load: {File.ReadAllText("/proc/loadavg").Trim()}");
}

// CPU time of the calling process while f runs (the work is single-threaded, so under a loaded machine this is a
// steadier figure than wall time; GC threads count too).
static (double Ms, T Value) Cpu<T>(Func<T> f)
{
    var before = Process.GetCurrentProcess().TotalProcessorTime;
    var value = f();
    return ((Process.GetCurrentProcess().TotalProcessorTime - before).TotalMilliseconds, value);
}
