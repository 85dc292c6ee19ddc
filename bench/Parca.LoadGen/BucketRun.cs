using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Parca.Query.Engine;
using Parca.Storage;
using Parca.Storage.Buckets;
using Parca.Storage.Ingest;

namespace Parca.LoadGen;

/// <summary>
/// <c>bucket [series] [hours] [samples-per-window] [synthetic]</c>: object storage on a real S3 server (S3_ENDPOINT,
/// S3_ACCESS_KEY, S3_SECRET_KEY as printed by scripts/s3/start-s3.sh). Data: profiles made from the real pprof files in
/// ../shared/testdata (<see cref="RealisticFleet"/>), or with <c>synthetic</c> the 64-variant synthetic fleet.
/// Phase 1: an ingest store takes hours × series profiles at 10 s; QueryRange and a merge run over its head, then it
/// uploads everything on flush (upload throughput apart from block building, bytes per sample in the bucket); a query
/// store starts on the bucket (start-up time) and runs the same queries cold (range reads) and warm (cache).
/// Phase 2: a fifth of the series again, flushed every hour (24 small blocks), then a compactor store merges them in
/// the bucket (compaction throughput), and a query store starts on that bucket of many blocks.
/// </summary>
internal static class BucketRun
{
    private const long Step = 10_000_000_000;
    private const string Type = "parca_agent:samples:count:cpu:nanoseconds:delta{job=\"svc\"}";

    public static async Task Run(int seriesCount, int hours, int perWindow, bool synthetic)
    {
        var endpoint = Environment.GetEnvironmentVariable("S3_ENDPOINT") ?? throw new InvalidOperationException("S3_ENDPOINT is not set: eval \"$(scripts/s3/start-s3.sh DIR PORT)\" first");
        var (access, secret) = (Environment.GetEnvironmentVariable("S3_ACCESS_KEY")!, Environment.GetEnvironmentVariable("S3_SECRET_KEY")!);
        const string BucketName = "parca-bench";
        using (var client = new AmazonS3Client(new BasicAWSCredentials(access, secret), new AmazonS3Config
        {
            ServiceURL = endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        }))
        {
            await client.PutBucketAsync(BucketName);
        }

        var run = $"bench-{DateTime.UtcNow:HHmmss}";
        S3Bucket Bucket(string prefix) => new(new S3BucketOptions { Bucket = BucketName, Endpoint = endpoint, AccessKey = access, SecretKey = secret, PathStyle = true, Prefix = prefix });
        var data = Data(seriesCount, perWindow, synthetic);
        Console.WriteLine($"bucket: data = {data.Description}; uptime: {File.ReadAllText("/proc/loadavg").Trim()}");

        await Phase1(Bucket(run + "-main"), () => Bucket(run + "-main"), data, seriesCount, hours);
        await Phase2(() => Bucket(run + "-compact"), data, Math.Max(2, seriesCount / 5), hours);
        Console.WriteLine($"done; uptime: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private sealed record Fleet(string Description, LabelSet[] Labels, Func<int, Random, long, IngestProfile> Window);

    private static Fleet Data(int seriesCount, int perWindow, bool synthetic)
    {
        if (synthetic)
        {
            var syntheticSamples = perWindow;
            var w = new Workload();
            var rng = new Random(7);
            var variants = Enumerable.Range(0, 64).Select(_ => w.Ingest(rng, 0, syntheticSamples * 3)).ToArray();
            var labels = Enumerable.Range(0, seriesCount).Select(s => LabelSet.From(("job", "svc"), ("instance", $"i-{s}"))).ToArray();
            var next = 0;
            return new Fleet($"synthetic, 64 variants of {syntheticSamples * 3} events", labels, (s, _, t) =>
            {
                var p = variants[(next++ + s) % variants.Length];
                p.TimeNanos = t;
                return p;
            });
        }

        var fleet = new RealisticFleet(Testdata(), perWindow);
        string[] regions = ["eu-west-1", "us-east-1", "ap-south-1"];
        var realLabels = Enumerable.Range(0, seriesCount).Select(s => LabelSet.From(
            ("job", "svc"), ("app", fleet.Name(s % fleet.Count)), ("instance", $"10.0.{s / 250}.{s % 250}:7071"),
            ("pod", $"{fleet.Name(s % fleet.Count)}-{(uint)HashCode.Combine(s, 17):x8}"), ("region", regions[s % regions.Length]))).ToArray();
        var mean = Enumerable.Range(0, seriesCount).Average(s => fleet.MeanSamples(s % fleet.Count));
        return new Fleet($"{fleet.Count} real pprof files from testdata, ~{mean:F0} samples per profile, 5 labels per series", realLabels, (s, rng, t) => fleet.Window(s % fleet.Count, rng, t));
    }

    private static async Task Phase1(S3Bucket s3, Func<S3Bucket> reopen, Fleet data, int seriesCount, int hours)
    {
        var perSeries = hours * 360;
        var t0 = DateTimeOffset.UtcNow.AddHours(-hours).ToUnixTimeMilliseconds() * 1_000_000;
        var end = t0 + (perSeries * Step);
        var dir = Directory.CreateTempSubdirectory("parca-bucket-bench-");
        var bucket = new TimedBucket(s3);
        long samples = 0;
        var rng = new Random(11);
        using (var ingest = new ProfileStore(new StorageOptions { Path = dir.FullName, Bucket = bucket, ActiveMemoryBytes = 8L << 30, HeadMemoryLimitBytes = 16L << 30, BlockDuration = TimeSpan.FromDays(1), Retention = TimeSpan.Zero, BucketCompaction = false }))
        {
            for (var t = 0; t < perSeries; t++)
            {
                for (var s = 0; s < seriesCount; s++)
                {
                    samples += ingest.Append("parca_agent", data.Labels[s], data.Window(s, rng, t0 + (t * Step)));
                }
            }

            Console.WriteLine($"phase 1: {seriesCount} series x {hours} h at 10 s = {(long)seriesCount * perSeries:N0} profiles, {samples:N0} samples");
            var head = new QueryEngine(ingest);
            var headRange = Best(3, () => head.QueryRange(Type, t0, end, Step * 360, ["instance"]));
            var headMerge = Best(3, () => head.Query(ProfileSelection.Merge(Type, t0, end)));
            Console.WriteLine($"  head: QueryRange {headRange:F0} ms, merge {headMerge:F0} ms");
            var sw = Stopwatch.StartNew();
            await ingest.FlushAsync();
            var bytes = ingest.BucketBlockBytes;
            Console.WriteLine($"  cut + encode + upload: {sw.Elapsed.TotalSeconds:F1} s = {samples / sw.Elapsed.TotalSeconds:N0} samples/s; " +
                $"the puts alone: {bucket.PutBytes:N0} bytes in {bucket.PutTime.TotalMilliseconds:F0} ms = {bucket.PutBytes / bucket.PutTime.TotalSeconds / 1e6:F1} MB/s");
            Console.WriteLine($"  bytes per sample in the bucket: {bytes / (double)samples:F3} ({bytes:N0} bytes of part files)");
        }

        dir.Delete(recursive: true);
        var start = Stopwatch.StartNew();
        using var query = new ProfileStore(new StorageOptions { QueryOnly = true, Bucket = reopen(), Retention = TimeSpan.Zero, BucketCacheBytes = 4L << 30 });
        Console.WriteLine($"  query store start-up on the bucket ({samples:N0} samples): {start.Elapsed.TotalMilliseconds:F0} ms ({query.Partitions.Count - 1} block parts)");
        var engine = new QueryEngine(query);
        var coldRange = Best(1, () => engine.QueryRange(Type, t0, end, Step * 360, ["instance"]));
        var coldMerge = Best(1, () => engine.Query(ProfileSelection.Merge(Type, t0, end)));
        var warmRange = Best(3, () => engine.QueryRange(Type, t0, end, Step * 360, ["instance"]));
        var warmMerge = Best(3, () => engine.Query(ProfileSelection.Merge(Type, t0, end)));
        Console.WriteLine($"  cold: QueryRange {coldRange:F0} ms, merge {coldMerge:F0} ms (read {query.BlockCache!.Misses} section groups)");
        Console.WriteLine($"  warm: QueryRange {warmRange:F0} ms, merge {warmMerge:F0} ms (cache {query.BlockCache.Bytes / 1e6:F0} MB)");
    }

    private static async Task Phase2(Func<S3Bucket> bucket, Fleet data, int seriesCount, int hours)
    {
        // Old enough that every hour block is past the compactor's "two block durations" wait.
        var t0 = DateTimeOffset.UtcNow.AddHours(-hours - 3).ToUnixTimeMilliseconds() * 1_000_000;
        var dir = Directory.CreateTempSubdirectory("parca-bucket-compact-");
        long samples = 0;
        var rng = new Random(13);
        var options = new StorageOptions { Path = Path.Combine(dir.FullName, "ingest"), Bucket = bucket(), ActiveMemoryBytes = 8L << 30, BlockDuration = TimeSpan.FromHours(1), Retention = TimeSpan.Zero, BucketCompaction = false };
        using (var ingest = new ProfileStore(options))
        {
            for (var h = 0; h < hours; h++)
            {
                for (var t = h * 360; t < (h + 1) * 360; t++)
                {
                    for (var s = 0; s < seriesCount; s++)
                    {
                        samples += ingest.Append("parca_agent", data.Labels[s], data.Window(s, rng, t0 + (t * Step)));
                    }
                }

                await ingest.FlushAsync();
            }
        }

        var blocksBefore = await MetasAsync(bucket());
        Console.WriteLine($"phase 2: {seriesCount} series x {hours} h = {samples:N0} samples in {blocksBefore} hourly blocks");
        var start = Stopwatch.StartNew();
        using (var probe = new ProfileStore(new StorageOptions { QueryOnly = true, Bucket = bucket(), Retention = TimeSpan.Zero }))
        {
            Console.WriteLine($"  query store start-up on {blocksBefore} blocks: {start.Elapsed.TotalMilliseconds:F0} ms");
        }

        var compacted = new List<(TimeSpan At, long Samples)>();
        var clock = Stopwatch.StartNew();
        using (var compactor = new ProfileStore(new StorageOptions
        {
            Path = Path.Combine(dir.FullName, "compactor"),
            Bucket = bucket(),
            BlockDuration = TimeSpan.FromHours(1),
            BucketSyncInterval = TimeSpan.FromMilliseconds(200),
            BucketDeleteDelay = TimeSpan.Zero, // the start-up after compaction measures the compacted bucket
            Retention = TimeSpan.Zero,
            Log = line =>
            {
                // "storage: compacted N blocks in object storage into ID (M samples)"
                if (line.StartsWith("storage: compacted ", StringComparison.Ordinal))
                {
                    var open = line.LastIndexOf('(');
                    lock (compacted)
                    {
                        compacted.Add((clock.Elapsed, long.Parse(line.AsSpan(open + 1, line.IndexOf(' ', open) - open - 1), System.Globalization.CultureInfo.InvariantCulture)));
                    }
                }
            },
        }))
        {
            // Done once a pass of the lease holder finds nothing to merge or delete (a merge may take longer than any
            // fixed quiet period on a loaded machine: waiting for "no merge for 10 s" stopped the compactor mid-merge).
            while (!compactor.BucketUpkeepIdle && clock.Elapsed < TimeSpan.FromMinutes(30))
            {
                await Task.Delay(200);
            }
        }

        var merged = compacted.Sum(c => c.Samples);
        var took = compacted.Count > 0 ? compacted[^1].At : clock.Elapsed;
        Console.WriteLine($"  compaction: {compacted.Count} merged blocks holding {merged:N0} samples in {took.TotalSeconds:F1} s = {merged / took.TotalSeconds:N0} samples/s " +
            "(list, lease, range reads of every input, merge, encode, upload; complete 12 h windows only)");
        start.Restart();
        using (var after = new ProfileStore(new StorageOptions { QueryOnly = true, Bucket = bucket(), Retention = TimeSpan.Zero }))
        {
            Console.WriteLine($"  query store start-up after compaction ({await MetasAsync(bucket())} blocks): {start.Elapsed.TotalMilliseconds:F0} ms");
        }

        dir.Delete(recursive: true);
    }

    private static async Task<int> MetasAsync(S3Bucket bucket) =>
        (await bucket.ListAsync("blocks/")).Count(o => o.Key.EndsWith("/meta.json", StringComparison.Ordinal));

    private static string Testdata()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Parca.slnx")))
        {
            dir = Path.GetDirectoryName(dir);
        }

        return Path.GetFullPath(Path.Combine(dir ?? throw new InvalidOperationException("Parca.slnx not found above " + AppContext.BaseDirectory), "..", "shared", "testdata", "pprof"));
    }

    private static double Best(int runs, Action run)
    {
        var best = double.MaxValue;
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }

        return best;
    }
}
