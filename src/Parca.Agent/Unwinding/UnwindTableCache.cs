using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Parca.Symbols.Cfi;

namespace Parca.Agent.Unwinding;

/// <summary>
/// Compiled unwind tables on disk, one file per executable key (build id, or device/inode/size/mtime when a file
/// has none), so a restart or a second agent does not parse the same .eh_frame again. Format (docs/agent.md):
/// "PARCAUT2", row count (u32), reserved (u32), then the 12-byte rows exactly as the BPF map holds them. The
/// directory is bounded by <see cref="MaxBytes"/>: after a write the least recently written files go first.
/// </summary>
internal sealed class UnwindTableCache
{
    private static ReadOnlySpan<byte> Magic => "PARCAUT2"u8;

    private readonly string _directory;
    private readonly Lock _lock = new();

    public UnwindTableCache(string directory, long maxBytes)
    {
        _directory = directory;
        MaxBytes = maxBytes;
    }

    public long MaxBytes { get; }

    public long Hits { get; private set; }

    public long Writes { get; private set; }

    /// <summary>The cached rows of <paramref name="key"/>, or null (missing, unreadable or damaged: rebuilt by the caller).</summary>
    public UnwindRow[]? TryRead(string key)
    {
        if (string.IsNullOrEmpty(_directory))
        {
            return null;
        }

        try
        {
            var bytes = File.ReadAllBytes(PathOf(key));
            if (bytes.Length < 16 || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
            {
                return null;
            }

            var count = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8));
            if ((long)count * UnwindRow.Size != bytes.Length - 16)
            {
                return null;
            }

            Hits++;
            return MemoryMarshal.Cast<byte, UnwindRow>(bytes.AsSpan(16)).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Writes <paramref name="rows"/> (atomically: temp file + rename), then trims the directory.</summary>
    public void Write(string key, ReadOnlySpan<UnwindRow> rows)
    {
        if (string.IsNullOrEmpty(_directory) || (long)rows.Length * UnwindRow.Size + 16 > MaxBytes)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(_directory);
            var path = PathOf(key);
            var temp = path + ".tmp" + Environment.CurrentManagedThreadId;
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                Span<byte> header = stackalloc byte[16];
                Magic.CopyTo(header);
                BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)rows.Length);
                BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);
                stream.Write(header);
                stream.Write(MemoryMarshal.AsBytes(rows));
            }

            File.Move(temp, path, overwrite: true);
            Writes++;
            Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or full disk costs a rebuild next time, nothing else.
        }
    }

    private void Trim()
    {
        lock (_lock)
        {
            var files = new DirectoryInfo(_directory).GetFiles("*.table");
            var total = files.Sum(f => f.Length);
            if (total <= MaxBytes)
            {
                return;
            }

            foreach (var file in files.OrderBy(f => f.LastWriteTimeUtc))
            {
                if (total <= MaxBytes)
                {
                    break;
                }

                total -= file.Length;
                file.Delete();
            }
        }
    }

    private string PathOf(string key) => Path.Combine(_directory, key + ".table");
}
