namespace Parca.Storage.Buckets;

/// <summary>
/// A bucket in a local directory (parca.yaml <c>type: FILESYSTEM</c>): objects are files under
/// <c>directory/prefix</c>; a put writes a temporary file, fsyncs it and renames it over the key, so a reader never
/// sees part of an object.
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

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        var keys = new List<string>();
        if (Directory.Exists(_root))
        {
            foreach (var file in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
            {
                var key = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
                if (key.StartsWith(prefix, StringComparison.Ordinal) && !key.EndsWith(".tmp", StringComparison.Ordinal))
                {
                    keys.Add(key);
                }
            }
        }

        return Task.FromResult<IReadOnlyList<string>>(keys);
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
