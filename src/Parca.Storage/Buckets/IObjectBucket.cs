namespace Parca.Storage.Buckets;

/// <summary>
/// The few object-store operations the server needs (blocks here; debuginfo files can share it): whole-object put and
/// get, range get (cold blocks read only the sections a query needs), exists, delete and list. Keys are relative to
/// the bucket's configured prefix and use '/' separators. A put is atomic: readers see the old object, or none, or
/// the whole new one, never a part. Failures to reach the store throw <see cref="BucketException"/>.
/// </summary>
public interface IObjectBucket
{
    /// <summary>What to call the bucket in logs and errors (type, name, endpoint; never credentials).</summary>
    string Description { get; }

    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>The whole object, or null when there is none.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary><paramref name="length"/> bytes from <paramref name="offset"/>; fewer only if the object is shorter.</summary>
    Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; deleting a missing one is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Every key under <paramref name="prefix"/> (recursively), in no particular order.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default);
}

/// <summary>The bucket could not be reached or refused an operation; the message says which and why.</summary>
public sealed class BucketException : IOException
{
    public BucketException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
