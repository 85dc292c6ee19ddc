using System.Buffers.Binary;
using System.Globalization;
using Parca.Storage.Internal;

namespace Parca.Storage.Wal;

/// <summary>
/// The write-ahead log under &lt;storage path&gt;/wal: numbered segment files (<c>00000001.wal</c>, ...), one per head.
/// A record is [u32 payload length][u32 CRC-32C of the payload][payload] (little endian). Records are written to the
/// operating system before the append returns (so a crashed or killed server loses nothing) and fsynced every
/// <see cref="SyncInterval"/> and when a segment is closed (so a machine crash loses at most that interval). A segment
/// is deleted once the block made from its head is on disk; see <see cref="ProfileStore"/> for the bookkeeping.
/// Written by hand: the framework has no log-structured file, and the format is this project's own.
/// </summary>
internal sealed class WriteAheadLog : IDisposable
{
    public const string Extension = ".wal";
    public static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(1);

    private const int HeaderBytes = 8;

    /// <summary>Largest record accepted back on replay (a length beyond it is garbage, not a record).</summary>
    private const int MaxRecordBytes = 1 << 30;

    private readonly string _directory;
    private readonly Lock _lock = new();
    private readonly ITimer _syncTimer;
    private FileStream _segment;
    private bool _dirty;
    private bool _disposed;

    /// <summary>Opens the log and starts a new segment numbered after every existing one.</summary>
    public WriteAheadLog(string directory, TimeProvider time)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        var last = Segments(directory).Select(s => s.Sequence).DefaultIfEmpty(0).Max();
        CurrentSequence = last + 1;
        _segment = Create(CurrentSequence);
        _syncTimer = time.CreateTimer(_ => Sync(), null, SyncInterval, SyncInterval);
    }

    /// <summary>The segment new records go to.</summary>
    public long CurrentSequence { get; private set; }

    /// <summary>Segment files in <paramref name="directory"/>, oldest first.</summary>
    public static IEnumerable<(long Sequence, string Path)> Segments(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var list = new List<(long, string)>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (long.TryParse(System.IO.Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
            {
                list.Add((sequence, path));
            }
        }

        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    /// <summary>
    /// The records of one segment, in order, read as a stream (a segment holds a whole head's worth of profiles,
    /// gigabytes at high ingest rates). A torn or corrupt record ends the segment (nothing after it can be trusted):
    /// <paramref name="problem"/> then says where, and the caller logs it.
    /// </summary>
    public static IEnumerable<byte[]> ReadSegment(string path, Action<string> problem)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        var header = new byte[HeaderBytes];
        long at = 0;
        while (true)
        {
            var got = file.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false);
            if (got == 0)
            {
                yield break;
            }

            if (got < HeaderBytes)
            {
                problem($"{path}: torn record header at byte {at} (a write cut short); {got} bytes dropped");
                yield break;
            }

            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            var left = file.Length - at - HeaderBytes;
            if (length > MaxRecordBytes || length > left)
            {
                problem($"{path}: torn or corrupt record at byte {at} (length {length}, {left} bytes left); the rest of the segment is dropped");
                yield break;
            }

            var payload = new byte[length];
            file.ReadExactly(payload);
            if (Crc32C.Compute(payload) != crc)
            {
                problem($"{path}: checksum mismatch in the record at byte {at}; the rest of the segment is dropped");
                yield break;
            }

            yield return payload;
            at += HeaderBytes + length;
        }
    }

    /// <summary>Appends one record (already encoded) to the current segment.</summary>
    public void Append(ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32C.Compute(payload));
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _segment.Write(header);
            _segment.Write(payload);
            _segment.Flush(flushToDisk: false); // into the kernel: survives the process
            _dirty = true;
        }
    }

    /// <summary>Closes the current segment (fsynced) and starts the next; returns the new segment's number.</summary>
    public long StartSegment()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _segment.Flush(flushToDisk: true);
            _segment.Dispose();
            CurrentSequence++;
            _segment = Create(CurrentSequence);
            _dirty = false;
            return CurrentSequence;
        }
    }

    /// <summary>Deletes the segments numbered up to <paramref name="sequence"/> (their data is in block files now).</summary>
    public void DeleteThrough(long sequence)
    {
        foreach (var (s, path) in Segments(_directory))
        {
            if (s <= sequence && s != CurrentSequence)
            {
                File.Delete(path);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _syncTimer.Dispose();
            _segment.Flush(flushToDisk: true);
            var empty = _segment.Length == 0;
            var path = _segment.Name;
            _segment.Dispose();
            if (empty)
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>fsync outside the lock, so appends keep going to the page cache while the disk catches up.</summary>
    private void Sync()
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        lock (_lock)
        {
            if (_disposed || !_dirty)
            {
                return;
            }

            handle = _segment.SafeFileHandle;
            _dirty = false;
        }

        try
        {
            RandomAccess.FlushToDisk(handle);
        }
        catch (ObjectDisposedException)
        {
            // The segment was closed meanwhile, and closing fsyncs it.
        }
    }

    private FileStream Create(long sequence) => new(
        System.IO.Path.Combine(_directory, sequence.ToString("D8", CultureInfo.InvariantCulture) + Extension),
        FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 0);
}
