using Parca.Rpc;
using Parca.Storage.Buckets;

namespace Parca.Server.Debuginfo;

/// <summary>
/// <see cref="IDebuginfoBucket"/> on the server's object storage (parca.yaml <c>type: S3</c>), under the
/// <c>debuginfo/</c> prefix next to the blocks: an upload to any server on the bucket is seen by every other one
/// (metadata and files alike). Puts and gets are streamed one part at a time. An unreachable bucket is
/// <c>UNAVAILABLE</c> naming the operation and the bucket (for uploads; the symbolizer then leaves frames unnamed
/// and asks again later).
/// </summary>
internal sealed class ObjectDebuginfoBucket(IObjectBucket bucket) : IDebuginfoBucket
{
    public const string Prefix = "debuginfo/";

    public string Description => $"{bucket.Description} under {Prefix}";

    public async Task<long> PutAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        try
        {
            return await bucket.PutStreamAsync(Prefix + key, content, cancellationToken);
        }
        catch (BucketException e)
        {
            throw Unavailable(e);
        }
    }

    public async Task<Stream?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await bucket.OpenReadAsync(Prefix + key, cancellationToken);
        }
        catch (BucketException e)
        {
            throw Unavailable(e);
        }
    }

    public async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await bucket.ExistsAsync(Prefix + key, cancellationToken);
        }
        catch (BucketException e)
        {
            throw Unavailable(e);
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await bucket.DeleteAsync(Prefix + key, cancellationToken);
        }
        catch (BucketException e)
        {
            throw Unavailable(e);
        }
    }

    private static RpcException Unavailable(BucketException e) =>
        new(StatusCode.Unavailable, $"debuginfo: object storage unreachable: {e.Message}");
}
