using System.Buffers;

namespace Parca.Storage.Buckets;

/// <summary>
/// A bucket in a local directory (parca.yaml <c>type: FILESYSTEM</c>): objects are files under
/// <c>directory/prefix</c>; a put writes a temporary file (<c>&lt;key&gt;.&lt;guid&gt;.tmp</c>), fsyncs it and renames
/// it over the key, so a reader never sees part of an object. A listed object's LastModified is its file's mtime; the
/// temporaries a crash left behind are what <see cref="RemoveAbandonedWritesAsync"/> deletes.
/// </summary>
public sealed class FilesystemBucket : IObjectBucket
{
    private readonly string _root;

    public FilesystemBucket(string directory, string prefix = "")
    {
        _root = Path.GetFullPath(Path.Combine(directory, prefix.Trim('/')));
        Directory.CreateDirectory(_root);
    }

    public string Description => $"FILESYSTEM bucket {_root}";

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, useAsync: true))
            {
                await fs.WriteAsync(data, cancellationToken);
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException e)
        {
            File.Delete(tmp);
            throw new BucketException($"{Description}: put {key} failed: {e.Message}", e);
        }
    }

    public async Task<long> PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        var tmp = $"{path}.{Guid.NewGuid():N}.tmp";
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        var reading = false; // the caller's stream fails with its own exceptions; only the file system's become BucketException
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            long total = 0;
            await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, useAsync: true))
            {
                while (true)
                {
                    reading = true;
                    var n = await content.ReadAsync(buffer, cancellationToken);
                    reading = false;
                    if (n == 0)
                    {
                        break;
                    }

                    await fs.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
                    total += n;
                }

                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
            return total;
        }
        catch (IOException e) when (!reading)
        {
            File.Delete(tmp);
            throw new BucketException($"{Description}: put {key} failed: {e.Message}", e);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            return Task.FromResult<Stream?>(new FileStream(PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, useAsync: true));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            return await File.ReadAllBytesAsync(PathOf(key), cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken = default)
    {
        try
        {
            using var handle = File.OpenHandle(PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.Asynchronous);
            var buffer = new byte[(int)Math.Clamp(RandomAccess.GetLength(handle) - offset, 0, length)];
            var read = 0;
            while (read < buffer.Length)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(read), offset + read, cancellationToken);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return read == buffer.Length ? buffer : buffer[..read];
        }
        catch (IOException e)
        {
            throw new BucketException($"{Description}: range read of {key} failed: {e.Message}", e);
        }
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken = default) => Task.FromResult(File.Exists(PathOf(key)));

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        File.Delete(PathOf(key));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<BucketObject>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var objects = new List<BucketObject>();
        foreach (var file in Files())
        {
            var key = Path.GetRelativePath(_root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !key.EndsWith(".tmp", StringComparison.Ordinal))
            {
                objects.Add(new BucketObject(key, file.Length, file.LastWriteTimeUtc));
            }
        }

        return Task.FromResult<IReadOnlyList<BucketObject>>(objects);
    }

    public Task<int> RemoveAbandonedWritesAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken = default)
    {
        var removed = 0;
        foreach (var file in Files())
        {
            if (file.Name.EndsWith(".tmp", StringComparison.Ordinal) && file.LastWriteTimeUtc < startedBefore.UtcDateTime)
            {
                file.Delete();
                removed++;
            }
        }

        return Task.FromResult(removed);
    }

    /// <summary>Every file under the root; a file deleted while listing is simply not returned.</summary>
    private IEnumerable<FileInfo> Files()
    {
        if (!Directory.Exists(_root))
        {
            return [];
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true };
        return new DirectoryInfo(_root).EnumerateFiles("*", options);
    }

    private string PathOf(string key)
    {
        var path = Path.GetFullPath(Path.Combine(_root, key));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"bucket key '{key}' leaves the bucket directory", nameof(key));
        }

        return path;
    }
}
