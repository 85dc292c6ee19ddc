namespace Parca.Server.Debuginfo;

/// <summary>
/// <see cref="IDebuginfoBucket"/> on a local directory (&lt;--storage-path&gt;/debuginfo). Objects are written to a
/// temporary file and renamed into place, so a crash or a failed upload never leaves a partial object. Keys are
/// checked to stay inside the directory.
/// </summary>
public sealed class FileSystemDebuginfoBucket : IDebuginfoBucket
{
    private readonly string _root;

    public FileSystemDebuginfoBucket(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    /// <summary>The local file behind a key (the symbolizer opens uploads in place instead of copying them).</summary>
    public string PathOf(string key)
    {
        if (key.Length == 0 || key.Contains("..", StringComparison.Ordinal) || key.StartsWith('/') || key.Contains('\\', StringComparison.Ordinal))
        {
            throw new ArgumentException($"invalid object key '{key}'", nameof(key));
        }

        return Path.Combine(_root, key);
    }

    public async Task<long> PutAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            long written;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await content.CopyToAsync(file, 1 << 16, cancellationToken);
                written = file.Length;
            }

            File.Move(temp, path, overwrite: true);
            return written;
        }
        finally
        {
            File.Delete(temp);
        }
    }

    public Task<Stream?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        try
        {
            return Task.FromResult<Stream?>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, useAsync: true));
        }
        catch (FileNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
        catch (DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task<bool> ExistsAsync(string key, CancellationToken cancellationToken) => Task.FromResult(File.Exists(PathOf(key)));

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        File.Delete(PathOf(key));
        return Task.CompletedTask;
    }
}
