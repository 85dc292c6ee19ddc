using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Parca.Symbols.Debuginfo;

/// <summary>
/// A .gnu_debuglink section: the debug file's base name (NUL-terminated, padded to 4 bytes) and the CRC-32
/// (IEEE, as zlib's crc32) of the whole debug file, which tells a stale or foreign file from the right one.
/// </summary>
internal readonly record struct DebugLink(string Name, uint Crc)
{
    /// <summary>Parses the section; throws <see cref="InvalidDataException"/> naming the file when it is malformed.</summary>
    public static DebugLink Parse(ReadOnlySpan<byte> section, string nameForErrors)
    {
        var end = section.IndexOf((byte)0);
        if (end <= 0)
        {
            throw new InvalidDataException($"{nameForErrors}: .gnu_debuglink: no NUL-terminated file name");
        }

        var crcAt = (end + 4) & ~3;
        if (crcAt + 4 > section.Length)
        {
            throw new InvalidDataException($"{nameForErrors}: .gnu_debuglink: truncated before the CRC ({section.Length} bytes)");
        }

        var name = Encoding.UTF8.GetString(section[..end]);
        if (name.Contains('/', StringComparison.Ordinal) || name is "." or "..")
        {
            // A base name by definition; anything else could walk out of the debug directories.
            throw new InvalidDataException($"{nameForErrors}: .gnu_debuglink: '{name}' is not a plain file name");
        }

        return new DebugLink(name, BinaryPrimitives.ReadUInt32LittleEndian(section[crcAt..]));
    }

    /// <summary>CRC-32 of a whole open file, read in pooled chunks.</summary>
    public static uint Checksum(SafeFileHandle handle)
    {
        var crc = new Crc32();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long offset = 0;
            int n;
            while ((n = RandomAccess.Read(handle, buffer, offset)) > 0)
            {
                crc.Append(buffer.AsSpan(0, n));
                offset += n;
            }

            return crc.GetCurrentHashAsUInt32();
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
