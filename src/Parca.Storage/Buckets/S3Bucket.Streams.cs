using System.Buffers;
using Amazon.S3.Model;

namespace Parca.Storage.Buckets;

/// <summary>
/// Streamed puts and gets: a put reads the caller's stream one part at a time into a pooled buffer, so a gigabyte debug
/// file costs one part of memory. What fits in the first part goes up as one PutObject; more becomes a multipart upload
/// whose every part carries its Content-MD5, completed only after the stream ended, aborted on any failure.
/// </summary>
public sealed partial class S3Bucket
{
    public async Task<long> PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_options.PartSize);
        try
        {
            var filled = await FillAsync(content, buffer, _options.PartSize, cancellationToken);
            if (filled < _options.PartSize)
            {
                try
                {
                    await PutObjectAsync(key, buffer.AsMemory(0, filled), cancellationToken);
                }
                catch (Exception e) when (IsStoreFailure(e, cancellationToken))
                {
                    throw Failure("put", key, e);
                }

                return filled;
            }

            return await PutMultipartAsync(key, content, buffer, filled, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task<long> PutMultipartAsync(string key, Stream content, byte[] buffer, int filled, CancellationToken cancellationToken)
    {
        string uploadId;
        try
        {
            uploadId = (await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = _prefix + key }, cancellationToken)).UploadId;
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("start multipart upload of", key, e);
        }

        var reading = false; // the caller's stream fails with its own exceptions; only the store's become BucketException
        try
        {
            var parts = new List<PartETag>();
            long total = 0;
            for (var number = 1; filled > 0; number++)
            {
                using (var stream = new MemoryStream(buffer, 0, filled, writable: false))
                {
                    var uploaded = await _client.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = _options.Bucket,
                        Key = _prefix + key,
                        UploadId = uploadId,
                        PartNumber = number,
                        InputStream = stream,
                        PartSize = filled,
                        MD5Digest = Md5(buffer.AsSpan(0, filled)),
                    }, cancellationToken);
                    parts.Add(new PartETag(number, uploaded.ETag));
                }

                total += filled;
                reading = true;
                filled = await FillAsync(content, buffer, _options.PartSize, cancellationToken);
                reading = false;
            }

            // radosgw 16 answers Complete with an empty ETag: success is the absence of an error, not the ETag.
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = _prefix + key,
                UploadId = uploadId,
                PartETags = parts,
            }, cancellationToken);
            return total;
        }
        catch (Exception e)
        {
            await AbortAsync(key, uploadId);
            if (!reading && IsStoreFailure(e, cancellationToken))
            {
                throw Failure("multipart put", key, e);
            }

            throw; // the caller's stream failed (too large, cancelled, ...): its own exception
        }
    }

    private async Task AbortAsync(string key, string uploadId)
    {
        try
        {
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _options.Bucket, Key = _prefix + key, UploadId = uploadId }, CancellationToken.None);
        }
        catch (Exception e) when (IsStoreFailure(e, CancellationToken.None))
        {
            // Unreachable: RemoveAbandonedWritesAsync aborts it once it is old; the original failure is what matters.
        }
    }

    /// <summary>Reads until <paramref name="count"/> bytes or the end of the stream; returns how many were read.</summary>
    private static async Task<int> FillAsync(Stream content, byte[] buffer, int count, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < count)
        {
            var n = await content.ReadAsync(buffer.AsMemory(filled, count - filled), cancellationToken);
            if (n == 0)
            {
                break;
            }

            filled += n;
        }

        return filled;
    }

    public async Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            // The response stream owns the connection: disposing it (the caller does) releases both.
            var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = _prefix + key }, cancellationToken);
            return response.ResponseStream;
        }
        catch (Amazon.S3.AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("get", key, e);
        }
    }
}
