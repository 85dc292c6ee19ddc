using System.Numerics;
using System.Runtime.CompilerServices;

namespace Parca.Pprof.Protobuf;

/// <summary>
/// Base-128 varints as protobuf encodes them: the one encoder, size function and bounds-checked reader of the
/// repository. <see cref="ProtoWriter"/> and <see cref="ProtoReader"/> (pprof, query reports), the pre-encoded
/// QueryRange reply, the borrowing WriteRaw parser and storage's block and log records all go through it.
/// Hand-written because Google.Protobuf's <c>CodedOutputStream</c>/<c>CodedInputStream</c> work on their own
/// buffers and streams, not on a caller's span at a caller's position, which these zero-copy paths need.
/// </summary>
internal static class Varint
{
    /// <summary>Bytes <paramref name="value"/> takes (1 to 10).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Size(ulong value) => ((63 - BitOperations.LeadingZeroCount(value | 1)) / 7) + 1;

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Write(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// Reads a varint at <paramref name="pos"/> and moves past it; false (position unspecified) when the span ends
    /// inside it or it runs past 64 bits.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> span, ref int pos, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if ((uint)pos >= (uint)span.Length)
            {
                return false;
            }

            var b = span[pos++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
