using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Parca.Storage.Internal;

/// <summary>
/// CRC-32C (Castagnoli) for block and write-ahead-log checksums. Written by hand: System.IO.Hashing 11.0.0 (the
/// newest served) offers CRC-32 with the IEEE polynomial only, and switching polynomials would make every stored
/// checksum wrong (BlockFormatGoldenTests). Uses the SSE4.2 instruction when present, a table otherwise (same result).
/// </summary>
internal static class Crc32C
{
    private static readonly uint[] s_table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }

            t[i] = c;
        }

        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        if (Sse42.X64.IsSupported)
        {
            var longs = MemoryMarshal.Cast<byte, ulong>(data);
            ulong c = crc;
            foreach (var l in longs)
            {
                c = Sse42.X64.Crc32(c, l);
            }

            crc = (uint)c;
            data = data[(longs.Length * 8)..];
            foreach (var b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }
        }
        else
        {
            foreach (var b in data)
            {
                crc = s_table[(crc ^ b) & 0xff] ^ (crc >> 8);
            }
        }

        return crc ^ 0xFFFFFFFFu;
    }
}
