using System.Security.Cryptography;
using Amazon.S3.Model;
using Parca.Storage;
using Parca.Storage.Buckets;
using Parca.Storage.Ingest;
using S3Bucket = Parca.Storage.Buckets.S3Bucket;

namespace Parca.Server.Tests;

public sealed partial class ObjectStorageTests
{
    /// <summary>
    /// Streamed puts (debug files) against the real S3 server: more than a part goes up as a multipart upload and reads
    /// back byte for byte, the listing reports its size and the store's LastModified; a content stream that fails half
    /// way surfaces its own exception and leaves neither an object nor an unfinished multipart upload.
    /// </summary>
    [Fact]
    public async Task Streamed_puts_go_up_in_parts_and_one_cut_short_leaves_nothing_behind()
    {
        var prefix = "stream-" + Guid.NewGuid().ToString("N")[..6];
        using var bucket = Bucket(prefix, partSize: 5 << 20);
        var data = RandomNumberGenerator.GetBytes((12 << 20) + 3);

        Assert.Equal(data.Length, await bucket.PutStreamAsync("debuginfo/big/debuginfo", new TrickleStream(data, failAt: -1)));
        await using (var back = await bucket.OpenReadAsync("debuginfo/big/debuginfo"))
        {
            using var copy = new MemoryStream();
            await back!.CopyToAsync(copy);
            Assert.Equal(SHA256.HashData(data), SHA256.HashData(copy.ToArray()));
        }

        var listed = Assert.Single(await bucket.ListAsync("debuginfo/"));
        Assert.Equal(("debuginfo/big/debuginfo", (long)data.Length), (listed.Key, listed.Size));
        Assert.InRange(listed.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Null(await bucket.OpenReadAsync("debuginfo/none/debuginfo"));

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => bucket.PutStreamAsync("debuginfo/cut/debuginfo", new TrickleStream(data, failAt: 7 << 20)));
        Assert.Equal("client went away", failure.Message);
        Assert.False(await bucket.ExistsAsync("debuginfo/cut/debuginfo"));
        Assert.Empty(await MultipartUploadsAsync(prefix));
    }

    /// <summary>
    /// What uploads cut short leave in a real S3 bucket goes once older than the grace, by the bucket's LastModified:
    /// part files of a block without a meta and an unfinished multipart upload. Blocks with a meta stay, however old.
    /// </summary>
    [Fact]
    public async Task Orphan_parts_and_unfinished_multipart_uploads_are_removed_once_older_than_the_grace()
    {
        var prefix = "orphans-" + Guid.NewGuid().ToString("N")[..6];
        using var dir = new TempDir();
        StorageOptions Options(TimeSpan grace, List<string> log) => new()
        {
            Path = dir.Sub("a"),
            WalEnabled = true,
            Bucket = Bucket(prefix, partSize: 5 << 20),
            BucketSyncInterval = TimeSpan.FromMilliseconds(500),
            BucketOrphanGrace = grace,
            Retention = TimeSpan.Zero,
            Log = line => { lock (log) { log.Add(line); } },
        };

        var log = new List<string>();
        using (var ingest = new ProfileStore(Options(TimeSpan.FromHours(1), log)))
        {
            var profile = new IngestBuilder(("samples", "count"), ("cpu", "nanoseconds"))
            {
                TimeNanos = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000,
                DurationNanos = 10_000_000_000,
                Period = 10_000_000,
            };
            profile.Sample("main;work", 3, 30_000_000);
            ingest.Append("process_cpu", LabelSet.From(("job", "api")), profile.Build());
            await ingest.FlushAsync();
        }

        var block = (await s3.Gateway.ListAsync(RadosGwFixture.Bucket, prefix + "/blocks/")).Select(o => o.Key).ToList();
        Assert.Contains(block, k => k.EndsWith("/meta.json", StringComparison.Ordinal));

        // A server killed between the parts and the meta, and one killed in the middle of a multipart upload.
        using var client = s3.Gateway.Client();
        var orphan = $"{prefix}/blocks/dead00000000/0000000100000002-0badf00d/00.prcb";
        await client.PutObjectAsync(new PutObjectRequest { BucketName = RadosGwFixture.Bucket, Key = orphan, ContentBody = "part of a block" });
        var started = await client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = RadosGwFixture.Bucket, Key = $"{prefix}/debuginfo/cafe/debuginfo" });
        using (var part = new MemoryStream(RandomNumberGenerator.GetBytes(1 << 20)))
        {
            await client.UploadPartAsync(new UploadPartRequest { BucketName = RadosGwFixture.Bucket, Key = $"{prefix}/debuginfo/cafe/debuginfo", UploadId = started.UploadId, PartNumber = 1, InputStream = part });
        }

        await Task.Delay(TimeSpan.FromSeconds(3)); // older than the grace below by the store's clock
        using (var keeper = new ProfileStore(Options(TimeSpan.FromSeconds(2), log)))
        {
            var gone = await PollAsync(
                async () => (await s3.Gateway.ListAsync(RadosGwFixture.Bucket, prefix + "/")).Select(o => o.Key).ToList().Contains(orphan) || (await MultipartUploadsAsync(prefix)).Count > 0,
                stillThere => !stillThere);
            Assert.False(gone, "the orphan part or the unfinished multipart upload is still in the bucket");
        }

        var after = (await s3.Gateway.ListAsync(RadosGwFixture.Bucket, prefix + "/blocks/")).Select(o => o.Key).ToList();
        Assert.Equal(block.Order(StringComparer.Ordinal), after.Order(StringComparer.Ordinal));
        lock (log)
        {
            Assert.Contains(log, l => l.Contains("deleted 1 part file(s) of block dead00000000/0000000100000002-0badf00d", StringComparison.Ordinal));
            Assert.Contains(log, l => l.Contains("removed 1 unfinished write(s)", StringComparison.Ordinal));
        }
    }

    private S3Bucket Bucket(string prefix, int partSize) => new(new S3BucketOptions
    {
        Bucket = RadosGwFixture.Bucket,
        Endpoint = s3.Gateway.Endpoint,
        AccessKey = s3.Gateway.AccessKey,
        SecretKey = s3.Gateway.SecretKey,
        PathStyle = true,
        Insecure = true,
        Prefix = prefix,
        PartSize = partSize,
    });

    private async Task<List<MultipartUpload>> MultipartUploadsAsync(string prefix)
    {
        using var client = s3.Gateway.Client();
        var response = await client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = RadosGwFixture.Bucket, Prefix = prefix + "/" });
        return response.MultipartUploads ?? [];
    }

    /// <summary>
    /// A non-seekable stream handing out odd-sized reads (as a gRPC upload does), optionally failing at a byte
    /// position the way a client that goes away does.
    /// </summary>
    private sealed class TrickleStream(byte[] data, int failAt) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (failAt >= 0 && _position >= failAt)
            {
                throw new InvalidOperationException("client went away");
            }

            var n = Math.Min(Math.Min(buffer.Length, 100_003), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
