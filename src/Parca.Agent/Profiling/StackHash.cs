using System.Numerics;
using System.Runtime.CompilerServices;

namespace Parca.Agent.Profiling;

/// <summary>
/// A fast 64-bit hash over frame addresses (multiply-rotate per word, murmur-style finalizer); collisions are resolved
/// by comparing frames, so quality only affects speed. Still hand-written: callers fold frames in one word at a time
/// with <see cref="Mix"/>, which System.IO.Hashing's XxHash3 (now served) has no form for; moving the whole-span
/// <see cref="Hash"/> to XxHash3 is open work of issue 15 (not measured here yet).
/// </summary>
internal static class StackHash
{
    private const ulong Prime1 = 0x9E3779B185EBCA87UL;
    private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong h, ulong value) => BitOperations.RotateLeft(h ^ (value * Prime2), 31) * Prime1;

    public static ulong Hash(ulong seed, ReadOnlySpan<ulong> words)
    {
        var h = seed ^ Prime1;
        foreach (var w in words)
        {
            h = Mix(h, w);
        }

        return Finalize(h ^ (ulong)words.Length);
    }

    /// <summary>A 64-bit hash of bytes (8 at a time, then the tail), e.g. for ids derived from text.</summary>
    public static ulong HashBytes(ulong seed, ReadOnlySpan<byte> bytes)
    {
        var h = seed ^ Prime1;
        var i = 0;
        for (; i + 8 <= bytes.Length; i += 8)
        {
            h = Mix(h, System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..]));
        }

        ulong tail = 0;
        for (var shift = 0; i < bytes.Length; i++, shift += 8)
        {
            tail |= (ulong)bytes[i] << shift;
        }

        return Finalize(Mix(h, tail) ^ (ulong)bytes.Length);
    }

    /// <summary>
    /// A stable hex id of <paramref name="text"/> (<paramref name="hexChars"/> ≤ 32). Not cryptographic: used for
    /// label values and URLs, where SHA-256 would load libcrypto (about 5 MB of the agent's RSS) for nothing.
    /// </summary>
    public static string HexId(string text, int hexChars)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        Span<byte> id = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(id, HashBytes(0x243F6A8885A308D3UL, bytes));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(id[8..], HashBytes(0x13198A2E03707344UL, bytes));
        return Convert.ToHexStringLower(id)[..hexChars];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Finalize(ulong h)
    {
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdUL;
        h ^= h >> 33;
        h *= 0xc4ceb3f53fe1a85bUL;
        h ^= h >> 33;
        return h;
    }
}
