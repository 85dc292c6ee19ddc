using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using Parca.Symbols.IO;

namespace Parca.Agent.Processes;

/// <summary>
/// A read-only stream over a file a process controls that stops at a size cap and at a read-time budget, so parsers
/// can stream it (memory is what they keep, not the file) and a file that grows while it is read, or a slow file
/// system, cannot hold the reader. Reads are sequential (read(2), which procfs files need; they report size 0).
/// </summary>
internal sealed class BoundedReadStream : Stream
{
    private readonly SafeFileHandle _handle;
    private readonly long _cap;
    private readonly long _budgetTicks;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly FileStream _file;
    private long _read;

    public BoundedReadStream(SafeFileHandle handle, long cap, TimeSpan budget)
    {
        _handle = handle;
        _cap = cap;
        _budgetTicks = (long)(budget.TotalSeconds * Stopwatch.Frequency);
        _file = new FileStream(handle, FileAccess.Read, bufferSize: 0);
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (Stopwatch.GetTimestamp() - _started > _budgetTicks)
        {
            throw new FileRefusedException(FileRefusal.TooSlow, $"reading took longer than {TimeSpan.FromSeconds((double)_budgetTicks / Stopwatch.Frequency).TotalMilliseconds:0} ms");
        }

        // One byte past the cap tells "exactly the cap" from "more than the cap".
        var room = _cap + 1 - _read;
        var n = _file.Read(buffer[..(int)Math.Min(buffer.Length, room)]);
        _read += n;
        if (_read > _cap)
        {
            throw new FileRefusedException(FileRefusal.TooLarge, $"larger than the {_cap} byte cap");
        }

        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
            _handle.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>A process's file refused while it was being read (cap or budget exceeded).</summary>
internal sealed class FileRefusedException : IOException
{
    public FileRefusedException(FileRefusal reason, string message) : base(message) => Reason = reason;

    public FileRefusal Reason { get; }
}
