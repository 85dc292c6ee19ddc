using System.Diagnostics;
using Parca.Storage.Buckets;

namespace Parca.LoadGen;

/// <summary>A bucket that adds up the wall time and bytes of its puts, so upload throughput is measured apart from block building.</summary>
internal sealed class TimedBucket(IObjectBucket inner) : IObjectBucket
{
    private long _putTicks;
    private long _putBytes;

    public TimeSpan PutTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _putTicks));

    public long PutBytes => Interlocked.Read(ref _putBytes);

    public string Description => inner.Description;

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var start = Stopwatch.GetTimestamp();
        await inner.PutAsync(key, data, cancellationToken);
        Interlocked.Add(ref _putTicks, Stopwatch.GetTimestamp() - start);
        Interlocked.Add(ref _putBytes, data.Length);
    }

    public Task<long> PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamAsync(key, content, cancellationToken);

    public Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, cancellationToken);

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default) => inner.GetRangeAsync(key, offset, length, cancellationToken);

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => inner.ExistsAsync(key, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);

    public Task<IReadOnlyList<BucketObject>> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task<int> RemoveAbandonedWritesAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken = default) => inner.RemoveAbandonedWritesAsync(startedBefore, cancellationToken);
}
