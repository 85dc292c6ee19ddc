using System.Diagnostics;
using Parca.Ingest;
using Parca.Storage;
using Parca.Storage.Wal;

namespace Parca.LoadGen;

/// <summary>
/// Start-up costs of the durable store (bench/README.md, "Durability"): replay speed of a large write-ahead log and
/// opening a store with many block files. Both write their data first, then time only the reopening.
/// </summary>
internal static class DurabilityRuns
{
    /// <summary>Writes about <paramref name="megabytes"/> MB of log through the server's ingest path, "crashes", and times the replay.</summary>
    public static void Replay(int megabytes)
    {
        var dir = Directory.CreateTempSubdirectory("parca-replay-");
        try
        {
            var w = new Workload();
            var rng = new Random(7);
            var start = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
            var payloads = Enumerable.Range(0, 16).Select(i => w.Pprof(rng, start + i, 8)).ToArray();
            Options Make() => new(dir.FullName);
            long bytes;
            var profiles = 0;
            using (var store = new ProfileStore(Make().Storage))
            {
                var writer = new ProfileWriter(store);
                var walDir = Path.Combine(dir.FullName, "wal");
                for (bytes = 0; bytes < megabytes * 1_000_000L; profiles++)
                {
                    writer.Write([new WriteSeries([new("__name__", "process_cpu"), new("instance", $"host-{profiles % 100}")], [new WriteSample(payloads[profiles % 16], null)])]);
                    if (profiles % 256 == 0)
                    {
                        bytes = WriteAheadLog.Segments(walDir).Sum(s => new FileInfo(s.Path).Length);
                    }
                }

                bytes = WriteAheadLog.Segments(walDir).Sum(s => new FileInfo(s.Path).Length);
            } // FlushOnDispose off: a crash, everything is in the log

            var segments = WriteAheadLog.Segments(Path.Combine(dir.FullName, "wal")).ToArray();
            var sw = Stopwatch.StartNew();
            long records = 0;
            foreach (var (_, path) in segments)
            {
                foreach (var _ in WalSegmentReader.Read(path, _ => { }))
                {
                    records++;
                }
            }

            var read = sw.Elapsed.TotalSeconds;
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            sw.Restart();
            using (var reopened = new ProfileStore(Make().Storage))
            {
                var replay = sw.Elapsed.TotalSeconds;
                var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
                Console.WriteLine($"log: {bytes / 1e6:F0} MB in {segments.Length} segments, {profiles:N0} profiles ({records:N0} records, {bytes / Math.Max(profiles, 1):N0} B each)");
                Console.WriteLine($"  framing only (read + check every record): {read:F2} s = {bytes / 1e6 / read:F0} MB/s");
                Console.WriteLine($"  replay into the head (decode pprof + append): {replay:F2} s wall = {bytes / 1e6 / replay:F0} MB/s ({reopened.ReplayedProfiles / replay:N0} profiles/s), {cpu:F1} s CPU");
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }

    /// <summary>Writes <paramref name="blocks"/> small blocks, then times opening the store.</summary>
    public static async Task Startup(int blocks)
    {
        var dir = Directory.CreateTempSubdirectory("parca-startup-");
        try
        {
            var w = new Workload();
            var rng = new Random(3);
            var start = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds() * 1_000_000;
            var storage = new StorageOptions { Path = dir.FullName };
            using (var store = new ProfileStore(storage))
            {
                for (var b = 0; b < blocks; b++)
                {
                    for (var p = 0; p < 4; p++)
                    {
                        store.Append("process_cpu", LabelSet.From(("instance", $"host-{p}")), w.Ingest(rng, start + (b * 4) + p, 1_520));
                    }

                    await store.FlushAsync();
                }
            }

            var files = Directory.GetFiles(Path.Combine(dir.FullName, "blocks"));
            var size = files.Sum(f => new FileInfo(f).Length);
            var sw = Stopwatch.StartNew();
            using var reopened = new ProfileStore(new StorageOptions { Path = dir.FullName });
            var open = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"{files.Length:N0} block files, {size / 1e6:F1} MB: store opened in {open:F2} s ({open * 1000 / files.Length:F2} ms per block), {reopened.LoadErrors.Count} problems");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private sealed class Options(string path)
    {
        public StorageOptions Storage { get; } = new()
        {
            Path = path,
            WalEnabled = true,
            FlushOnDispose = false,
            ActiveMemoryBytes = 64L << 30, // one head: the whole log is replayed at start-up
            HeadMemoryLimitBytes = 64L << 30,
            Retention = TimeSpan.Zero,
        };
    }
}
