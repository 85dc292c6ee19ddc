using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Crc = Parca.Storage.Wal.WalChecksum;

namespace Parca.Storage.Wal;

/// <summary>
/// The write-ahead log under &lt;storage path&gt;/wal: numbered segment files (<c>00000001.wal</c>, ...). A segment
/// (format 2) starts with <see cref="SegmentMagic"/>; each record is framed as [u32 sync marker][u32 payload length]
/// [u32 CRC-32C of the payload][u32 CRC-32C of the first 12 header bytes][payload] (little endian), so replay can
/// check a length before trusting it and find the next record after a damaged one (see <see cref="WalSegmentReader"/>).
/// Records are written to the operating system before the append returns (a killed server loses nothing) and
/// fsynced every <see cref="SyncInterval"/> and when a segment is closed (a machine crash loses at most that
/// interval). A failed write (disk full) is cut back off the file, so the log stays as it was; if even that fails
/// the next append starts a new segment. Written by hand: the framework has no log-structured file, and the format
/// is this project's own.
/// </summary>
internal sealed class WriteAheadLog : IDisposable
{
    public const string Extension = ".wal";
    public static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(1);

    /// <summary>Bytes a caller reserves in front of the payload for <see cref="AppendFramed"/>.</summary>
    public const int HeaderBytes = 16;

    /// <summary>"PRCWAL" + format 2: segments without it are format 1 (unframed records, see <see cref="WalSegmentReader"/>).</summary>
    public static ReadOnlySpan<byte> SegmentMagic => "PRCWAL\0\u0002"u8;

    /// <summary>Marks the start of every record; replay searches for it after a damaged record.</summary>
    public const uint RecordMarker = 0x7E_C0_57_A1;

    private readonly string _directory;
    private readonly Lock _lock = new();
    private readonly ITimer _syncTimer;
    private SafeFileHandle _segment;
    private long _length;
    private bool _broken;
    private bool _dirty;
    private bool _disposed;

    /// <summary>Opens the log and starts a new segment numbered after every existing one.</summary>
    public WriteAheadLog(string directory, TimeProvider time)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        var last = Segments(directory).Select(s => s.Sequence).DefaultIfEmpty(0).Max();
        CurrentSequence = last + 1;
        _segment = Create(CurrentSequence, out _length);
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

    /// <summary>Fills the 16-byte header at the start of <paramref name="frame"/> for the payload that follows it.</summary>
    public static void WriteHeader(Span<byte> frame)
    {
        var payload = frame[HeaderBytes..];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, RecordMarker);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(frame[8..], Crc.Compute(payload));
        BinaryPrimitives.WriteUInt32LittleEndian(frame[12..], Crc.Compute(frame[..12]));
    }

    /// <summary>Appends one record given without room for its header (tests, tools): copies it once.</summary>
    public void Append(ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderBytes + payload.Length];
        payload.CopyTo(frame.AsSpan(HeaderBytes));
        AppendFramed(frame);
    }

    /// <summary>
    /// Appends one record: <paramref name="frame"/> is <see cref="HeaderBytes"/> of room for the header followed by
    /// the payload (one write per record). Throws <see cref="StorageWriteException"/> when the write fails; the log is
    /// then as it was before the call.
    /// </summary>
    public void AppendFramed(Span<byte> frame)
    {
        WriteHeader(frame);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_broken)
            {
                Roll();
            }

            try
            {
                RandomAccess.Write(_segment, frame, _length); // into the kernel: survives the process
            }
            catch (IOException e)
            {
                CutBack();
                throw new StorageWriteException(e);
            }

            _length += frame.Length;
            _dirty = true;
        }
    }

    /// <summary>Closes the current segment (fsynced) and starts the next; returns the new segment's number.</summary>
    public long StartSegment()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Roll();
            return CurrentSequence;
        }
    }

    /// <summary>Deletes the segments numbered <paramref name="first"/> to <paramref name="last"/> (their data is in block files now).</summary>
    public void DeleteRange(long first, long last)
    {
        foreach (var (s, path) in Segments(_directory))
        {
            if (s >= first && s <= last && s != CurrentSequence)
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
            var empty = _length <= SegmentMagic.Length;
            try
            {
                RandomAccess.FlushToDisk(_segment);
            }
            catch (IOException)
            {
                // Everything acknowledged is in the kernel already; a failing fsync at exit cannot be retried.
            }

            _segment.Dispose();
            if (empty)
            {
                File.Delete(SegmentPath(CurrentSequence));
            }
        }
    }

    /// <summary>Removes a failed write's partial bytes; when that fails too, the next append starts a new segment.</summary>
    private void CutBack()
    {
        try
        {
            RandomAccess.SetLength(_segment, _length);
        }
        catch (IOException)
        {
            _broken = true;
        }
    }

    /// <summary>Closes the current segment (fsynced) and opens the next one; the caller holds the lock.</summary>
    private void Roll()
    {
        var next = Create(CurrentSequence + 1, out var length);
        try
        {
            RandomAccess.FlushToDisk(_segment);
        }
        catch (IOException)
        {
            // A broken segment's fsync can fail; its good records are in the kernel and replay skips its tail.
        }

        var empty = _length <= SegmentMagic.Length;
        _segment.Dispose();
        if (empty)
        {
            File.Delete(SegmentPath(CurrentSequence)); // nothing in it: leave no file for replay to open
        }

        _segment = next;
        _length = length;
        CurrentSequence++;
        _broken = false;
        _dirty = false;
    }

    /// <summary>fsync outside the lock, so appends keep going to the page cache while the disk catches up.</summary>
    private void Sync()
    {
        SafeFileHandle handle;
        lock (_lock)
        {
            if (_disposed || !_dirty)
            {
                return;
            }

            handle = _segment;
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
        catch (IOException)
        {
            // Retried by the next tick (the data stays in the page cache until it is written).
            _dirty = true;
        }
    }

    private string SegmentPath(long sequence) =>
        System.IO.Path.Combine(_directory, sequence.ToString("D8", CultureInfo.InvariantCulture) + Extension);

    /// <summary>A new segment with its magic written; a segment that cannot even take that is removed again.</summary>
    private SafeFileHandle Create(long sequence, out long length)
    {
        var path = SegmentPath(sequence);
        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        }
        catch (IOException e)
        {
            throw new StorageWriteException(e);
        }

        try
        {
            RandomAccess.Write(handle, SegmentMagic, 0);
        }
        catch (IOException e)
        {
            handle.Dispose();
            File.Delete(path);
            throw new StorageWriteException(e);
        }

        length = SegmentMagic.Length;
        return handle;
    }
}
