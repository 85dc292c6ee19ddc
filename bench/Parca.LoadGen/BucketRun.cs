using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Parca.Query.Engine;
using Parca.Storage;
using Parca.Storage.Buckets;

namespace Parca.LoadGen;

/// <summary>
/// <c>bucket [series] [hours] [samples]</c>: object storage on a real S3 server (S3_ENDPOINT, S3_ACCESS_KEY,
/// S3_SECRET_KEY as printed by scripts/s3/start-s3.sh). An ingest store takes hours × series profiles at 10 s and
/// uploads them on flush (upload throughput, bytes per sample in the bucket); a query store then starts on the bucket
/// (start-up time) and merges everything cold (range reads) and warm (cache), next to the same merge over the head.
/// </summary>
internal static class BucketRun
{
    public static async Task Run(int seriesCount, int hours, int samplesPerProfile)
    {
        var endpoint = Environment.GetEnvironmentVariable("S3_ENDPOINT") ?? throw new InvalidOperationException("S3_ENDPOINT is not set: eval \"$(scripts/s3/start-s3.sh DIR PORT)\" first");
        var (access, secret) = (Environment.GetEnvironmentVariable("S3_ACCESS_KEY")!, Environment.GetEnvironmentVariable("S3_SECRET_KEY")!);
        var bucketName = "parca-bench";
        using (var client = new AmazonS3Client(new BasicAWSCredentials(access, secret), new AmazonS3Config
        {
            ServiceURL = endpoint,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        }))
        {
            await client.PutBucketAsync(bucketName);
        }

        var prefix = $"bench-{DateTime.UtcNow:HHmmss}";
        S3Bucket Bucket() => new(new S3BucketOptions { Bucket = bucketName, Endpoint = endpoint, AccessKey = access, SecretKey = secret, PathStyle = true, Prefix = prefix });
        var w = new Workload();
        var rng = new Random(7);
        var variants = Enumerable.Range(0, 64).Select(_ => w.Ingest(rng, 0, samplesPerProfile * 3)).ToArray();
        var perSeries = hours * 360;
        var t0 = DateTimeOffset.UtcNow.AddHours(-hours).ToUnixTimeMilliseconds() * 1_000_000;
        const long Step = 10_000_000_000;
        var labels = Enumerable.Range(0, seriesCount).Select(s => LabelSet.From(("job", "svc"), ("instance", $"i-{s}"))).ToArray();
        var dir = Directory.CreateTempSubdirectory("parca-bucket-bench-");
        const string Type = "parca_agent:samples:count:cpu:nanoseconds:delta{job=\"svc\"}";
        var end = t0 + (perSeries * Step);
        long samples = 0;
        using (var ingest = new ProfileStore(new StorageOptions { Path = dir.FullName, Bucket = Bucket(), ActiveMemoryBytes = 8L << 30, HeadMemoryLimitBytes = 16L << 30, BlockDuration = TimeSpan.FromDays(1), Retention = TimeSpan.Zero }))
        {
            for (var t = 0; t < perSeries; t++)
            {
                for (var s = 0; s < seriesCount; s++)
                {
                    var p = variants[(t + s) % variants.Length];
                    p.TimeNanos = t0 + (t * Step);
                    samples += ingest.Append("parca_agent", labels[s], p);
                }
            }

            Console.WriteLine($"bucket: {seriesCount} series x {hours} h at 10 s = {(long)seriesCount * perSeries:N0} profiles, {samples:N0} samples");
            var head = Best(3, () => new QueryEngine(ingest).Query(ProfileSelection.Merge(Type, t0, end)));
            Console.WriteLine($"  merge over the head: {head:F0} ms");
            var sw = Stopwatch.StartNew();
            await ingest.FlushAsync();
            var bytes = ingest.BucketBlockBytes;
            Console.WriteLine($"  cut + encode + upload: {sw.Elapsed.TotalSeconds:F1} s, {bytes / sw.Elapsed.TotalSeconds / 1e6:F1} MB/s of block files, {samples / sw.Elapsed.TotalSeconds:N0} samples/s; {bytes / (double)samples:F2} B/sample in the bucket ({bytes:N0} bytes)");
        }

        var start = Stopwatch.StartNew();
        using var query = new ProfileStore(new StorageOptions { QueryOnly = true, Bucket = Bucket(), Retention = TimeSpan.Zero, BucketCacheBytes = 4L << 30 });
        Console.WriteLine($"  query server start-up on the bucket: {start.Elapsed.TotalMilliseconds:F0} ms ({query.Partitions.Count - 1} blocks)");
        var engine = new QueryEngine(query);
        var sw2 = Stopwatch.StartNew();
        var range = engine.QueryRange(Type, t0, end, Step * 360, ["instance"]);
        Console.WriteLine($"  QueryRange cold (series + rows only): {sw2.Elapsed.TotalMilliseconds:F0} ms, {range.Count} series; read {query.BlockCache!.Misses} section groups");
        sw2.Restart();
        var cold = engine.Query(ProfileSelection.Merge(Type, t0, end));
        Console.WriteLine($"  merge cold (range reads of symbols, stacks, samples): {sw2.Elapsed.TotalMilliseconds:F0} ms, total {cold.Total}");
        var warm = Best(3, () => engine.Query(ProfileSelection.Merge(Type, t0, end)));
        Console.WriteLine($"  merge warm (cache): {warm:F0} ms; cache {query.BlockCache.Bytes / 1e6:F0} MB, hits {query.BlockCache.Hits}, misses {query.BlockCache.Misses}");
        dir.Delete(recursive: true);
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
