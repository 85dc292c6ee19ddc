using System.Buffers;
using System.IO.Hashing;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace Parca.Storage.Internal;

/// <summary>
/// A 128-bit content hash for symbol deduplication: System.IO.Hashing's XxHash128 for byte strings, and a cheap
/// xxHash-style round per lane to combine already-hashed parts (a stack of 30 locations is 30 rounds, where hashing
/// the parts' bytes again would cost a full XXH3 call each). Strings are hashed as UTF-8 so a profile decoded from pprof (UTF-8 spans, never turned into .NET
/// strings) and one built from .NET strings hash alike. Lane <see cref="Hash128.Key"/> finds a known location,
/// lane <see cref="Hash128.Check"/> verifies it: a wrong hit needs both lanes to collide (odds about n²/2¹²⁸ for n
/// locations), and the lanes are seeded per process, so inputs cannot be crafted offline to collide.
/// Not cryptographic. The seeds are per process, so these hashes are never stored (blocks keep the content itself).
/// </summary>
internal static class ContentHash
{
    private const ulong K1 = 0x9E3779B97F4A7C15UL;
    private const ulong K2 = 0xC2B2AE3D27D4EB4FUL;
    private const ulong K3 = 0x165667B19E3779F9UL;
    private const ulong K4 = 0xD6E8FEB86659FD93UL;

    private static readonly long s_seed = (long)RandomSeed();
    private static readonly ulong s_seedA = RandomSeed();
    private static readonly ulong s_seedB = RandomSeed();

    /// <summary>Hash of UTF-8 bytes: XXH3-128, seeded per process.</summary>
    public static Hash128 Of(ReadOnlySpan<byte> bytes)
    {
        var h = XxHash128.HashToUInt128(bytes, s_seed);
        return new Hash128((ulong)h, (ulong)(h >> 64));
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

    private static ulong RandomSeed()
    {
        Span<byte> b = stackalloc byte[8];
        RandomNumberGenerator.Fill(b);
        return BitConverter.ToUInt64(b);
    }
}

/// <summary>A 128-bit content hash: <see cref="Key"/> indexes, <see cref="Check"/> verifies.</summary>
internal readonly record struct Hash128(ulong Key, ulong Check);
