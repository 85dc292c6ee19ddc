using Amazon.S3.Model;

namespace Parca.Storage.Buckets;

/// <summary>Listing (ListObjectsV2 with LastModified) and the removal of multipart uploads a crash left unfinished.</summary>
public sealed partial class S3Bucket
{
    public async Task<IReadOnlyList<BucketObject>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var objects = new List<BucketObject>();
        try
        {
            var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _prefix + prefix };
            while (true)
            {
                var response = await _client.ListObjectsV2Async(request, cancellationToken);
                foreach (var o in response.S3Objects ?? [])
                {
                    objects.Add(new BucketObject(o.Key[_prefix.Length..], o.Size ?? 0, ToUtc(o.LastModified)));
                }

                if (response.IsTruncated != true)
                {
                    return objects;
                }

                request.ContinuationToken = response.NextContinuationToken;
            }
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("list", prefix, e);
        }
    }

    public async Task<int> RemoveAbandonedWritesAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken = default)
    {
        var stale = new List<(string Key, string UploadId)>();
        try
        {
            var request = new ListMultipartUploadsRequest { BucketName = _options.Bucket, Prefix = _prefix };
            while (true)
            {
                var response = await _client.ListMultipartUploadsAsync(request, cancellationToken);
                foreach (var u in response.MultipartUploads ?? [])
                {
                    if (ToUtc(u.Initiated) < startedBefore)
                    {
                        stale.Add((u.Key[_prefix.Length..], u.UploadId));
                    }
                }

                if (response.IsTruncated != true)
                {
                    break;
                }

                request.KeyMarker = response.NextKeyMarker;
                request.UploadIdMarker = response.NextUploadIdMarker;
            }

            foreach (var (key, uploadId) in stale)
            {
                try
                {
                    await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _options.Bucket, Key = _prefix + key, UploadId = uploadId }, cancellationToken);
                }
                catch (Amazon.S3.AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
                {
                    // Completed or aborted by its owner meanwhile.
                }
            }
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw Failure("list multipart uploads", "", e);
        }

        return stale.Count;
    }

    /// <summary>
    /// The SDK's times as UTC (it hands out local or unspecified DateTime kinds). A time the store did not send counts as
    /// "just now", so nothing is ever deleted for an age nobody knows.
    /// </summary>
    private static DateTimeOffset ToUtc(DateTime? time) => time is { } t
        ? new DateTimeOffset(t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc))
        : DateTimeOffset.MaxValue;
}
