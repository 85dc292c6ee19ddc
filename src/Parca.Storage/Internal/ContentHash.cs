using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Parca.Storage.Internal;

/// <summary>
/// A fast 128-bit content hash (two independent 64-bit lanes, 8 bytes per multiply-rotate round, a multiply-xorshift
/// finish) for symbol deduplication. Strings are hashed as UTF-8 so a profile decoded from pprof (UTF-8 spans, never turned into .NET
/// strings) and one built from .NET strings hash alike. Lane <see cref="Hash128.Key"/> finds a known location,
/// lane <see cref="Hash128.Check"/> verifies it: a wrong hit needs both lanes to collide (odds about n²/2¹²⁸ for n
/// locations), and the lanes are seeded per process, so inputs cannot be crafted offline to collide.
/// Not cryptographic. Written by hand: System.IO.Hashing (xxHash) is not obtainable here.
/// </summary>
internal static class ContentHash
{
    private const ulong K1 = 0x9E3779B97F4A7C15UL;
    private const ulong K2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong K3 = 0x165667B19E3779F9UL;
    private const ulong K4 = 0xD6E8FEB86659FD93UL;

    private static readonly ulong s_seedA = RandomSeed();
    private static readonly ulong s_seedB = RandomSeed();

    /// <summary>Hash of UTF-8 bytes.</summary>
    public static Hash128 Of(ReadOnlySpan<byte> bytes)
    {
        var a = s_seedA ^ K2 ^ (ulong)bytes.Length;
        var b = s_seedB ^ K4 ^ (ulong)bytes.Length;
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (var w in words)
        {
            // xxHash-style rounds: the dependency chain through a/b is add-rotate-multiply.
            a = BitOperations.RotateLeft(a + (w * K2), 31) * K1;
            b = BitOperations.RotateLeft(b + (w * K4), 27) * K3;
        }

        var rest = bytes.Length & 7;
        ulong last = 0;
        if (rest != 0 && bytes.Length >= 8)
        {
            // The last 8 bytes, overlapping the last full word (the length is mixed in, so no ambiguity).
            last = MemoryMarshal.Read<ulong>(bytes[^8..]);
        }
        else
        {
            var tail = bytes[(words.Length * 8)..];
            for (var i = 0; i < tail.Length; i++)
            {
                last |= (ulong)tail[i] << (8 * i);
            }
        }

        return new Hash128(MixA(a ^ (last * K1)), MixB(b ^ (last * K3)));
    }

    /// <summary>Hash of a .NET string's UTF-8 encoding (equal to <see cref="Of(ReadOnlySpan{byte})"/> of those bytes).</summary>
    public static Hash128 Of(string s)
    {
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        if (max <= 512)
        {
            Span<byte> buf = stackalloc byte[512];
            return Of(buf[..Encoding.UTF8.GetBytes(s, buf)]);
        }

        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            return Of(rented.AsSpan(0, Encoding.UTF8.GetBytes(s, rented)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Combining is an xxHash-style round per lane (add the multiplied input, rotate, multiply): the chain through `h`
    // is add-rotate-multiply, short enough that hashing a stack of 30 locations stays cheap.
    public static Hash128 Combine(Hash128 h, Hash128 v) =>
        new(BitOperations.RotateLeft(h.Key + (v.Key * K2), 31) * K1, BitOperations.RotateLeft(h.Check + (v.Check * K4), 27) * K3);

    public static Hash128 Combine(Hash128 h, ulong v) =>
        new(BitOperations.RotateLeft(h.Key + (v * K2), 31) * K1, BitOperations.RotateLeft(h.Check + (v * K4), 27) * K3);

    public static Hash128 Combine(ulong a, ulong b) => Combine(Combine(new Hash128(s_seedA, s_seedB), a), b);

    private static ulong MixA(ulong h)
    {
        h = BitOperations.RotateLeft(h, 31) * K2;
        return h ^ (h >> 29);
    }

    private static ulong MixB(ulong h)
    {
        h = BitOperations.RotateLeft(h, 27) * K4;
        return h ^ (h >> 31);
    }

    private static ulong RandomSeed()
    {
        Span<byte> b = stackalloc byte[8];
        RandomNumberGenerator.Fill(b);
        return BitConverter.ToUInt64(b);
    }
}

/// <summary>A 128-bit content hash: <see cref="Key"/> indexes, <see cref="Check"/> verifies.</summary>
internal readonly record struct Hash128(ulong Key, ulong Check);
