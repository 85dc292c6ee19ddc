using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Parca.Storage.Buckets;

/// <summary>
/// An S3 bucket through AWSSDK.S3. Every put carries Content-MD5, so the store refuses bytes damaged on the way;
/// objects larger than <see cref="S3BucketOptions.PartSize"/> go up as a multipart upload, one part in memory at a time
/// (aborted on failure, so no part is ever visible; one cut short by a crash is aborted later by
/// <see cref="RemoveAbandonedWritesAsync"/>). Checksums in the aws-chunked trailer are off: Ceph radosgw 16 and other S3 stores reject them.
/// </summary>
public sealed partial class S3Bucket : IObjectBucket, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly S3BucketOptions _options;
    private readonly string _prefix;

    public S3Bucket(S3BucketOptions options)
    {
        _options = options;
        _prefix = options.Prefix.Trim('/') is { Length: > 0 } p ? p + "/" : "";
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.PathStyle,
            AuthenticationRegion = options.Region,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = options.Timeout,
            MaxErrorRetry = 3,
            RetryMode = RequestRetryMode.Standard,
        };
        if (options.Endpoint.Length > 0)
        {
            config.ServiceURL = options.Endpoint.Contains("://", StringComparison.Ordinal)
                ? options.Endpoint
                : (options.Insecure ? "http://" : "https://") + options.Endpoint;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }

        _client = string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public string Description => $"S3 bucket {_options.Bucket} at {(_options.Endpoint.Length > 0 ? _options.Endpoint : _options.Region)}";

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        if (data.Length > _options.PartSize)
        {
            using var content = ReadOnly(data);
            await PutStreamAsync(key, content, cancellationToken);
            return;
        }

        try
        {
            await PutObjectAsync(key, data, cancellationToken);
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("put", key, e);
        }
    }

    private async Task PutObjectAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        using var stream = ReadOnly(data);
        await _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = _prefix + key,
            InputStream = stream,
            MD5Digest = Md5(data.Span),
            AutoCloseStream = false,
        }, cancellationToken);
    }

    /// <summary>A stream over the bytes without copying them when they are an array (they are: encoded blocks, pooled parts).</summary>
    private static MemoryStream ReadOnly(ReadOnlyMemory<byte> data) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);

    /// <summary>What the store or the way to it did wrong (as opposed to the caller's cancellation or content stream).</summary>
    private static bool IsStoreFailure(Exception e, CancellationToken cancellationToken) =>
        e is AmazonServiceException or HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested;

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _options.Bucket, Key = _prefix + key }, cancellationToken);
            return await ReadAllAsync(response, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("get", key, e);
        }
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default)
    {
        if (length == 0)
        {
            return [];
        }

        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = _options.Bucket,
                Key = _prefix + key,
                ByteRange = new ByteRange(offset, offset + length - 1),
            }, cancellationToken);
            return await ReadAllAsync(response, cancellationToken);
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("range get", key, e);
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = _prefix + key }, cancellationToken);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("head", key, e);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _options.Bucket, Key = _prefix + key }, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("delete", key, e);
        }
    }

    private static async Task<byte[]> ReadAllAsync(GetObjectResponse response, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(response.ContentLength > 0 ? (int)Math.Min(response.ContentLength, int.MaxValue) : 0);
        await response.ResponseStream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    private static string Md5(ReadOnlySpan<byte> data) => Convert.ToBase64String(MD5.HashData(data));

    private BucketException Failure(string operation, string key, Exception e)
    {
        var reason = e switch
        {
            AmazonS3Exception s3 when !string.IsNullOrEmpty(s3.ErrorCode) => $"{s3.ErrorCode} (HTTP {(int)s3.StatusCode})",
            TaskCanceledException => $"no answer within {_options.Timeout.TotalSeconds:0}s",
            _ => e.InnerException?.Message ?? e.Message,
        };
        return new BucketException($"{Description}: {operation} {key}: {reason}", e);
    }

    public void Dispose() => _client.Dispose();
}
