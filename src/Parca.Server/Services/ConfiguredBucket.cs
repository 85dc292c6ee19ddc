using Parca.Storage.Buckets;

namespace Parca.Server.Services;

/// <summary>
/// The S3 bucket of parca.yaml, opened once and shared by everything the server keeps durable: the block store and
/// the debuginfo store (under <c>debuginfo/</c>). Null when no S3 bucket is configured (see <see cref="ObjectStorage"/>).
/// </summary>
internal sealed class ConfiguredBucket(IObjectBucket? bucket) : IDisposable
{
    public IObjectBucket? Bucket { get; } = bucket;

    public void Dispose() => (Bucket as IDisposable)?.Dispose();
}
