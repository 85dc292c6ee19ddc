using System.Diagnostics;
using Parca.Ingest.Arrow;
using Parca.Storage;

namespace Parca.LoadGen;

/// <summary>
/// The WriteArrow ingest alone, in process on one thread (no gRPC, no load generator competing): the fleet's v2
/// requests (the same as <c>ingest-process ... arrow</c> sends) go straight to <see cref="ArrowIngest.WriteArrow"/>
/// and storage. Reports the thread's CPU time per sample and the bytes it allocated per request: the figures to
/// compare before and after a change to the decoding or the symbol path, which the end-to-end run then confirms.
/// </summary>
internal static class ArrowIngestRun
{
    public static void Run(int agents, int requests, int seriesPerRequest)
    {
        var fleet = new AgentFleet(new Workload(), agents, 8, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000);
        fleet.UseArrow(seriesPerRequest);
        var records = fleet.ArrowRequests().ToArray();
        using var store = new ProfileStore(new StorageOptions());
        var ingest = new ArrowIngest(store, 256 << 20);

        // Warm-up: tiered compilation, and the stacks and symbols that are new only the first time.
        for (var i = 0; i < records.Length; i++)
        {
            ingest.WriteArrow(records[i].Record.Memory);
        }

        long samples = 0;
        var allocated0 = GC.GetAllocatedBytesForCurrentThread();
        var gen0 = GC.CollectionCount(0);
        var gen2 = GC.CollectionCount(2);
        var cpu = Stopwatch.StartNew();
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < requests; i++)
        {
            var (record, n) = records[i % records.Length];
            ingest.WriteArrow(record.Memory);
            samples += n;
        }

        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var wall = cpu.Elapsed.TotalSeconds;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocated0;
        Console.WriteLine($"arrow-inproc: {requests} WriteArrow requests ({agents} agents x {seriesPerRequest} series, {samples / requests:N0} samples each) on one thread");
        Console.WriteLine($"  {samples:N0} samples in {wall:F2} s wall, {cpuSeconds:F2} s process CPU => {samples / wall:N0} samples/s wall, {samples / cpuSeconds:N0} samples per CPU-second");
        Console.WriteLine($"  allocated {allocated / (double)requests / 1024:N0} KiB per request ({allocated / (double)samples:F1} B per sample); GCs: gen0 {GC.CollectionCount(0) - gen0}, gen2 {GC.CollectionCount(2) - gen2}");
    }
}
