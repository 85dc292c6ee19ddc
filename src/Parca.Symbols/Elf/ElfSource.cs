using Microsoft.Win32.SafeHandles;

namespace Parca.Symbols.Elf;

/// <summary>
/// Positional reads over an ELF image: an open file (read in ranges, never whole) or a byte array (the
/// decompressed MiniDebugInfo ELF inside .gnu_debugdata), so one parser serves both.
/// </summary>
internal abstract class ElfSource
{
    public abstract long Length { get; }

    /// <summary>Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; returns the count (0 at the end).</summary>
    public abstract int Read(Span<byte> destination, long offset);
}

internal sealed class FileElfSource(SafeFileHandle handle) : ElfSource
{
    public override long Length => RandomAccess.GetLength(handle);

    public override int Read(Span<byte> destination, long offset) => RandomAccess.Read(handle, destination, offset);
}

internal sealed class MemoryElfSource(byte[] image) : ElfSource
{
    public override long Length => image.Length;

    public override int Read(Span<byte> destination, long offset)
    {
        if (offset >= image.Length)
        {
            return 0;
        }

        var n = (int)Math.Min(destination.Length, image.Length - offset);
        image.AsSpan((int)offset, n).CopyTo(destination);
        return n;
    }
}
