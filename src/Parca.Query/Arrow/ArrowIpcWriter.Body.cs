using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Parca.Query.Arrow;

internal static partial class ArrowIpcWriter
{
    /// <summary>
    /// The body of a message, planned before it is written: each buffer's (offset, length) for the metadata, padded to
    /// 8 bytes, and what fills it. <see cref="Layout"/> places the fills in the output; they run afterwards, maybe in
    /// parallel, each touching only its own slice.
    /// </summary>
    private sealed class Body
    {
        private readonly List<Fill?> _fills = [];

        public List<(long Offset, long Length)> Buffers { get; } = [];

        public long Length { get; private set; }

        public void Empty() => Add(null, 0);

        public void Validity(bool[]? valid)
        {
            if (valid is null || !valid.AsSpan().Contains(false))
            {
                Empty();
                return;
            }

            Bits(valid);
        }

        public void Bits(bool[] values) => Add(new BitsFill(values), (values.Length + 7) / 8);

        public void Int32s(int[] values) => Add(new Int32Fill(values), values.Length * 4L);

        /// <summary>Int32 values as a buffer of <paramref name="bitWidth"/> (32, or 64: sign-extended while written).</summary>
        public void Int32s(int[] values, int bitWidth)
        {
            if (bitWidth == 32)
            {
                Int32s(values);
                return;
            }

            Add(new WideningFill(values), values.Length * 8L);
        }

        public void Ints(long[] values, int bitWidth) => Add(new IntsFill(values, bitWidth), values.Length * (long)(bitWidth / 8));

        /// <summary>A binary column's offsets and data buffers (UTF-8).</summary>
        public void Binary(string[] values)
        {
            var offsets = new int[values.Length + 1];
            var total = 0;
            for (var i = 0; i < values.Length; i++)
            {
                total = checked(total + Encoding.UTF8.GetByteCount(values[i]));
                offsets[i + 1] = total;
            }

            Int32s(offsets);
            Add(new Utf8Fill(values, total), total);
        }

        private void Add(Fill? fill, long length)
        {
            Buffers.Add((Length, length));
            _fills.Add(fill);
            Length += Padded(checked((int)length));
        }

        /// <summary>Clears the padding in <paramref name="body"/> (the message body at <paramref name="at"/> of the output) and lists the fills.</summary>
        public void Layout(Span<byte> body, int at, List<(int Offset, Fill Fill)> fills)
        {
            for (var i = 0; i < Buffers.Count; i++)
            {
                var (offset, length) = ((int)Buffers[i].Offset, (int)Buffers[i].Length);
                body.Slice(offset + length, Padded(length) - length).Clear();
                if (_fills[i] is { } fill)
                {
                    fills.Add((at + offset, fill));
                }
            }
        }

        /// <summary>Writes one buffer's bytes into exactly <see cref="Length"/> bytes.</summary>
        public abstract class Fill(int length)
        {
            public int Length { get; } = length;

            public abstract void Write(Span<byte> destination);
        }

        private sealed class BitsFill(bool[] values) : Fill((values.Length + 7) / 8)
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
            public override void Write(Span<byte> destination)
            {
                var full = values.Length / 8;
                for (var i = 0; i < full; i++)
                {
                    // Eight bools (0 or 1 each) as one little-endian ulong: bit 0 of byte k is value k.
                    var eight = MemoryMarshal.Read<ulong>(MemoryMarshal.AsBytes(values.AsSpan(i * 8, 8)));
                    destination[i] = (byte)((eight * 0x0102040810204080UL) >> 56);
                }

                if (full < destination.Length)
                {
                    byte last = 0;
                    for (var k = full * 8; k < values.Length; k++)
                    {
                        last |= (byte)((values[k] ? 1 : 0) << (k & 7));
                    }

                    destination[full] = last;
                }
            }
        }

        private sealed class Int32Fill(int[] values) : Fill(values.Length * 4)
        {
            // Little endian (x86-64, arm64): the array's bytes are the buffer.
            [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
            public override void Write(Span<byte> destination) => MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(destination);
        }

        private sealed class WideningFill(int[] values) : Fill(values.Length * 8)
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
            public override void Write(Span<byte> destination)
            {
                var longs = MemoryMarshal.Cast<byte, long>(destination);
                for (var i = 0; i < values.Length; i++)
                {
                    longs[i] = values[i];
                }
            }
        }

        private sealed class IntsFill(long[] values, int bitWidth) : Fill(values.Length * (bitWidth / 8))
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
            public override void Write(Span<byte> destination)
            {
                switch (bitWidth)
                {
                    case 8:
                        for (var i = 0; i < values.Length; i++)
                        {
                            destination[i] = (byte)values[i];
                        }

                        break;
                    case 16:
                        var shorts = MemoryMarshal.Cast<byte, short>(destination);
                        for (var i = 0; i < values.Length; i++)
                        {
                            shorts[i] = (short)values[i];
                        }

                        break;
                    case 32:
                        var ints = MemoryMarshal.Cast<byte, int>(destination);
                        for (var i = 0; i < values.Length; i++)
                        {
                            ints[i] = (int)values[i];
                        }

                        break;
                    default:
                        MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(destination);
                        break;
                }
            }
        }

        private sealed class Utf8Fill(string[] values, int length) : Fill(length)
        {
            [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
            public override void Write(Span<byte> destination)
            {
                var pos = 0;
                foreach (var v in values)
                {
                    pos += Encoding.UTF8.GetBytes(v, destination[pos..]);
                }
            }
        }
    }
}
