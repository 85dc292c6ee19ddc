namespace Parca.Storage.Buckets;

/// <summary>
/// The few object-store operations the server needs (blocks, and debuginfo files under <c>debuginfo/</c>): whole-object
/// put and get, streamed put and get (debug files can be a gigabyte), range get (cold blocks read only the sections a
/// query needs), exists, delete and list. Keys are relative to the bucket's configured prefix and use '/' separators.
/// A put is atomic: readers see the old object, or none, or the whole new one, never a part. Failures to reach the
/// store throw <see cref="BucketException"/>; failures of a caller's content stream reach the caller unchanged.
/// </summary>
public interface IObjectBucket
{
    /// <summary>What to call the bucket in logs and errors (type, name, endpoint; never credentials).</summary>
    string Description { get; }

    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores what <paramref name="content"/> yields until its end under <paramref name="key"/>, holding at most one
    /// part in memory; returns the bytes stored. Nothing becomes visible unless the whole stream was stored.
    /// </summary>
    Task<long> PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default);

    /// <summary>The object's content as a stream the caller disposes, or null when there is none.</summary>
    Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The whole object, or null when there is none.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary><paramref name="length"/> bytes from <paramref name="offset"/>; fewer only if the object is shorter.</summary>
    Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; deleting a missing one is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every object under <paramref name="prefix"/> (recursively), in no particular order.</summary>
    Task<IReadOnlyList<BucketObject>> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>
    /// Removes what puts cut short by a crash left behind out of sight of <see cref="ListAsync"/> and started before
    /// <paramref name="startedBefore"/>: S3 multipart uploads never completed or aborted (their parts take space until
    /// aborted), temporary files of a FILESYSTEM bucket. Returns how many were removed.
    /// </summary>
    Task<int> RemoveAbandonedWritesAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken = default);
}

/// <summary>A listed object: its key (relative to the bucket's prefix), size, and when it was last written by the store's clock.</summary>
public readonly record struct BucketObject(string Key, long Size, DateTimeOffset LastModified);

/// <summary>The bucket could not be reached or refused an operation; the message says which and why.</summary>
public sealed class BucketException : IOException
{
    public BucketException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
