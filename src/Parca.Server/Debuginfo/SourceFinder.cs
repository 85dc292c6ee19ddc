using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using Microsoft.Extensions.Logging;
using Parca.Rpc;

namespace Parca.Server.Debuginfo;

/// <summary>
/// The text of one source file of one build id for the SOURCE report. First the build id's uploaded source archive
/// (<c>&lt;id&gt;/sources</c>, Parca's DEBUGINFO_TYPE_SOURCES: a tar, gzip- or zstd-compressed, found by the magic
/// bytes; the entry whose name equals the file after trimming a leading "/" or "./", as Parca matches). Then, only
/// with --debuginfo-source-directories, the file on this machine at its DWARF path when that path lies inside one of
/// those directories (after resolving "..", and symlinks) and a frame of that build id in the query result names it,
/// so the report cannot be used to read arbitrary files. Files over 100 MiB are refused (as Parca).
/// </summary>
internal sealed class SourceFinder(IDebuginfoBucket bucket, IReadOnlyList<string> directories, ILogger logger)
{
    public const long MaxFileBytes = 100L << 20;

    /// <summary>
    /// The file's text, or null when neither an archive nor an allowed local file has it. <paramref name="referenced"/>:
    /// a frame of the build id in the result names the file (required for local files).
    /// Throws <see cref="RpcException"/> with FAILED_PRECONDITION for a corrupt archive or an oversized file.
    /// </summary>
    public async Task<string?> FindAsync(string buildId, string filename, bool referenced, CancellationToken ct)
    {
        if (DebuginfoStore.IsValidBuildId(buildId))
        {
            await using var archive = await bucket.GetAsync(DebuginfoMetadata.ObjectKey(buildId, Protocol.Debuginfo.V1Alpha1.DebuginfoType.Sources), ct);
            if (archive is not null)
            {
                var text = await FromArchiveAsync(archive, buildId, filename, ct);
                if (text is not null)
                {
                    return text;
                }
            }
        }

        return referenced && LocalPath(filename) is { } path ? await ReadLocalAsync(path, ct) : null;
    }

    /// <summary>Whether <see cref="FindAsync"/> could answer (source_only requests): an archive exists, or an allowed local file.</summary>
    public async Task<bool> ExistsAsync(string buildId, string filename, bool referenced, CancellationToken ct) =>
        (DebuginfoStore.IsValidBuildId(buildId) && await bucket.ExistsAsync(DebuginfoMetadata.ObjectKey(buildId, Protocol.Debuginfo.V1Alpha1.DebuginfoType.Sources), ct))
        || (referenced && LocalPath(filename) is not null);

    private async Task<string?> FromArchiveAsync(Stream archive, string buildId, string filename, CancellationToken ct)
    {
        var wanted = TrimLeading(filename);
        try
        {
            await using var decompressed = await DecompressAsync(archive, ct);
            await using var tar = new TarReader(decompressed);
            while (await tar.GetNextEntryAsync(copyData: false, ct) is { } entry)
            {
                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || TrimLeading(entry.Name) != wanted)
                {
                    continue;
                }

                if (entry.Length > MaxFileBytes)
                {
                    throw new RpcException(StatusCode.FailedPrecondition, $"sources of build id {buildId}: {filename} is {entry.Length} bytes, over the {MaxFileBytes} byte limit");
                }

                using var text = new StreamReader(entry.DataStream ?? Stream.Null, new UTF8Encoding(false, false));
                return await text.ReadToEndAsync(ct);
            }

            return null;
        }
        catch (Exception e) when (e is not (RpcException or OperationCanceledException or OutOfMemoryException))
        {
            // gzip, zstd (SharpCompress has its own exception types) and tar readers all report corrupt input here.
            DebuginfoLog.Problem(logger, buildId, "sources archive unreadable: " + e.Message);
            throw new RpcException(StatusCode.FailedPrecondition, $"sources archive of build id {buildId} is unreadable: {e.Message}");
        }
    }

    /// <summary>gzip (1f 8b 08) or zstd (28 b5 2f fd) by magic, as Parca accepts; a plain tar is read as is.</summary>
    private static async Task<Stream> DecompressAsync(Stream archive, CancellationToken ct)
    {
        var buffered = new BufferedStream(archive, 1 << 16);
        var magic = new byte[4];
        var n = await buffered.ReadAtLeastAsync(magic, 4, throwOnEndOfStream: false, ct);
        var prefixed = new PrefixedStream(magic.AsMemory(0, n), buffered);
        if (n >= 3 && magic[0] == 0x1f && magic[1] == 0x8b && magic[2] == 0x08)
        {
            return new GZipStream(prefixed, CompressionMode.Decompress);
        }

        if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
        {
            return new SharpCompress.Compressors.ZStandard.DecompressionStream(prefixed);
        }

        return prefixed;
    }

    /// <summary>The full path of <paramref name="filename"/> when it is an existing file inside an allowed directory.</summary>
    private string? LocalPath(string filename)
    {
        if (directories.Count == 0 || !Path.IsPathFullyQualified(filename) || filename.Contains('\0'))
        {
            return null;
        }

        var full = Path.GetFullPath(filename);
        if (!Inside(full) || !File.Exists(full))
        {
            return null;
        }

        var real = RealPath(full, 0);
        return real is not null && Inside(real) ? real : null;
    }

    /// <summary>The path with every symbolic link along it resolved (realpath), or null past 40 links (a loop).</summary>
    private static string? RealPath(string full, int hops)
    {
        var current = "/";
        var parts = full.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = i == parts.Length - 1 ? new FileInfo(next) : new DirectoryInfo(next);
            if (info.LinkTarget is { } target)
            {
                if (++hops > 40)
                {
                    return null;
                }

                var resolved = RealPath(Path.GetFullPath(target, current), hops);
                if (resolved is null)
                {
                    return null;
                }

                next = resolved;
            }

            current = next;
        }

        return current;
    }

    private bool Inside(string path)
    {
        foreach (var d in directories)
        {
            var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(d)) + "/";
            if (path.StartsWith(root, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<string> ReadLocalAsync(string path, CancellationToken ct)
    {
        var length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
        {
            throw new RpcException(StatusCode.FailedPrecondition, $"{path} is {length} bytes, over the {MaxFileBytes} byte limit");
        }

        return await File.ReadAllTextAsync(path, new UTF8Encoding(false, false), ct);
    }

    private static string TrimLeading(string name) =>
        name.StartsWith('/') ? name[1..] : name.StartsWith("./", StringComparison.Ordinal) ? name[2..] : name;
}
