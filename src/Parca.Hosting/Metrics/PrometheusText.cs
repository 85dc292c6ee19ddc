using System.Buffers;
using System.Globalization;

namespace Parca.Hosting.Metrics;

/// <summary>Writes lines of the Prometheus text format as UTF-8 into a buffer writer, numbers formatted in place.</summary>
internal static class PrometheusText
{
    public static void Append(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    /// <summary><c>name{labels,le="x"} value\n</c>; the braces only when there is a label or a bucket bound.</summary>
    public static void Line(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> labels, ReadOnlySpan<byte> bound, double value)
    {
        // name + braces + labels + comma + bound + space + the longest "R" double (about 24) + newline
        var span = output.GetSpan(name.Length + labels.Length + bound.Length + 40);
        name.CopyTo(span);
        var n = name.Length;
        if (labels.Length > 0 || bound.Length > 0)
        {
            span[n++] = (byte)'{';
            labels.CopyTo(span[n..]);
            n += labels.Length;
            if (bound.Length > 0)
            {
                if (labels.Length > 0)
                {
                    span[n++] = (byte)',';
                }

                bound.CopyTo(span[n..]);
                n += bound.Length;
            }

            span[n++] = (byte)'}';
        }

        span[n++] = (byte)' ';
        n += Number(span[n..], value);
        span[n++] = (byte)'\n';
        output.Advance(n);
    }

    private static int Number(Span<byte> span, double value)
    {
        ReadOnlySpan<byte> special = double.IsPositiveInfinity(value) ? "+Inf"u8
            : double.IsNegativeInfinity(value) ? "-Inf"u8
            : double.IsNaN(value) ? "NaN"u8
            : default;
        if (!special.IsEmpty)
        {
            special.CopyTo(span);
            return special.Length;
        }

        // Counts and counters are whole numbers: below 1e15 "R" prints them as plain digits, which the integer
        // formatter writes several times faster than the double one.
        if (Math.Abs(value) < 1e15 && value == Math.Floor(value) && !(value == 0 && double.IsNegative(value)))
        {
            return ((long)value).TryFormat(span, out var digits, default, CultureInfo.InvariantCulture) ? digits : throw new InvalidOperationException("a long did not fit 32 bytes");
        }

        if (!value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("a double did not fit 32 bytes"); // cannot happen: "R" needs at most 24
        }

        return written;
    }
}
