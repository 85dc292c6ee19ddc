using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Rpc;
using Parca.Rpc.Server;
using EngineSeries = Parca.Query.Engine.MetricsSeries;
using Varint = Parca.Pprof.Protobuf.Varint;

namespace Parca.Server.Services;

// QueryRangeResponse's protobuf wire form written straight from the engine's accumulators: a hand-written protobuf
// writer for these five messages, because building (and then serializing) one generated MetricsSample per point
// costs several times the query itself for large ranges. Field numbers from proto/parca/query/v1alpha1/query.proto
// (QueryRangeResponse.series = 1; MetricsSeries labelset = 1, samples = 2, period_type = 3, sample_type = 4;
// MetricsSample timestamp = 1, value = 2, value_per_second = 3, duration = 4, count = 5 (int32), our extensions
// min_value = 100, max_value = 101, max_timestamp = 102) and
// profilestore.proto (LabelSet.labels = 1; Label name = 1, value = 2; ValueType type = 1, unit = 2). The output is
// byte for byte what Google.Protobuf writes for the message QueryRange(engine, request) builds: fields in number order,
// proto3 defaults (0, 0.0, "") omitted, sub-messages that are set written even when empty (QueryRangeEncoderTests).
internal sealed partial class QueryService
{
    /// <summary>QueryRange answered with its encoded response (binary callers get the bytes; JSON callers the message).</summary>
    internal static EncodedMessage<QueryRangeResponse> QueryRangeEncoded(QueryEngine engine, QueryRangeRequest request, int maxGroups = int.MaxValue, CancellationToken cancellationToken = default) =>
        EncodeQueryRange(RunQueryRange(engine, request, maxGroups, cancellationToken));

    internal static EncodedMessage<QueryRangeResponse> EncodeQueryRange(IReadOnlyList<EngineSeries> result)
    {
        var sizes = new long[result.Count];
        long points = 0;
        foreach (var s in result)
        {
            points += s.Count;
        }

        var parallel = points >= 100_000 && result.Count > 1;
        if (parallel)
        {
            Parallel.For(0, result.Count, i => sizes[i] = SeriesSize(result[i]));
        }
        else
        {
            for (var i = 0; i < result.Count; i++)
            {
                sizes[i] = SeriesSize(result[i]);
            }
        }

        var offsets = new int[result.Count];
        long total = 0;
        for (var i = 0; i < result.Count; i++)
        {
            if (total > Array.MaxLength)
            {
                break;
            }

            offsets[i] = (int)total;
            total += 1 + VarintSize((ulong)sizes[i]) + sizes[i];
        }

        if (total > Array.MaxLength)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"QueryRange response of more than {Array.MaxLength} bytes: use a larger step or a narrower range");
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(total, 1));
        try
        {
            if (parallel)
            {
                Parallel.For(0, result.Count, i => WriteSeriesField(buffer, offsets[i], result[i], sizes[i]));
            }
            else
            {
                for (var i = 0; i < result.Count; i++)
                {
                    WriteSeriesField(buffer, offsets[i], result[i], sizes[i]);
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return new EncodedMessage<QueryRangeResponse>(buffer, (int)total, pooled: true);
    }

    private static long SeriesSize(EngineSeries s)
    {
        var labels = LabelSetSize(s);
        long size = 1 + VarintSize((ulong)labels) + labels;
        for (var i = 0; i < s.BucketCount; i++)
        {
            if (s.HasPoint(i))
            {
                var sample = SampleSize(s.GetPoint(i));
                size += 1 + VarintSize((ulong)sample) + sample;
            }
        }

        if (s.PeriodType is { } pt)
        {
            var v = ValueTypeSize(pt);
            size += 1 + VarintSize((ulong)v) + v;
        }

        if (s.SampleType is { } st)
        {
            var v = ValueTypeSize(st);
            size += 1 + VarintSize((ulong)v) + v;
        }

        return size;
    }

    private static void WriteSeriesField(byte[] buffer, int offset, EngineSeries s, long size)
    {
        var span = buffer.AsSpan(offset);
        var pos = 0;
        span[pos++] = (1 << 3) | 2; // QueryRangeResponse.series
        WriteVarint(span, ref pos, (ulong)size);

        span[pos++] = (1 << 3) | 2; // MetricsSeries.labelset (always set, as ToProto sets it)
        WriteVarint(span, ref pos, (ulong)LabelSetSize(s));
        foreach (var l in s.Labels.Labels)
        {
            span[pos++] = (1 << 3) | 2; // LabelSet.labels
            WriteVarint(span, ref pos, (ulong)(StringFieldSize(l.Name) + StringFieldSize(l.Value)));
            WriteString(span, ref pos, 1, l.Name);
            WriteString(span, ref pos, 2, l.Value);
        }

        for (var i = 0; i < s.BucketCount; i++)
        {
            if (!s.HasPoint(i))
            {
                continue;
            }

            var p = s.GetPoint(i);
            span[pos++] = (2 << 3) | 2; // MetricsSeries.samples
            WriteVarint(span, ref pos, (ulong)SampleSize(p));
            var (seconds, nanos) = SplitNanos(p.TimestampNanos);
            span[pos++] = (1 << 3) | 2; // MetricsSample.timestamp
            WriteVarint(span, ref pos, (ulong)TimestampSize(seconds, nanos));
            if (seconds != 0)
            {
                span[pos++] = 1 << 3;
                WriteVarint(span, ref pos, (ulong)seconds);
            }

            if (nanos != 0)
            {
                span[pos++] = 2 << 3;
                WriteVarint(span, ref pos, (ulong)(long)nanos);
            }

            if (p.Value != 0)
            {
                span[pos++] = 2 << 3;
                WriteVarint(span, ref pos, (ulong)p.Value);
            }

            if (p.ValuePerSecond != 0d)
            {
                span[pos++] = (3 << 3) | 1;
                BinaryPrimitives.WriteDoubleLittleEndian(span[pos..], p.ValuePerSecond);
                pos += 8;
            }

            if (p.DurationNanos != 0)
            {
                span[pos++] = 4 << 3;
                WriteVarint(span, ref pos, (ulong)p.DurationNanos);
            }

            if (p.Count != 0)
            {
                span[pos++] = 5 << 3;
                WriteVarint(span, ref pos, (ulong)(long)p.Count); // int32: negatives sign-extend to 10 bytes
            }

            if (p.HasRange)
            {
                WriteRange(span, ref pos, p);
            }
        }

        if (s.PeriodType is { } pt)
        {
            WriteValueType(span, ref pos, 3, pt);
        }

        if (s.SampleType is { } st)
        {
            WriteValueType(span, ref pos, 4, st);
        }
    }

    private static void WriteValueType(Span<byte> span, ref int pos, int field, (string Type, string Unit) v)
    {
        span[pos++] = (byte)((field << 3) | 2);
        WriteVarint(span, ref pos, (ulong)ValueTypeSize(v));
        WriteString(span, ref pos, 1, v.Type);
        WriteString(span, ref pos, 2, v.Unit);
    }

    private static void WriteString(Span<byte> span, ref int pos, int field, string value)
    {
        if (value.Length == 0)
        {
            return;
        }

        span[pos++] = (byte)((field << 3) | 2);
        WriteVarint(span, ref pos, (ulong)Encoding.UTF8.GetByteCount(value));
        pos += Encoding.UTF8.GetBytes(value, span[pos..]);
    }

    private static int LabelSetSize(EngineSeries s)
    {
        var size = 0;
        foreach (var l in s.Labels.Labels)
        {
            var label = StringFieldSize(l.Name) + StringFieldSize(l.Value);
            size += 1 + VarintSize((ulong)label) + label;
        }

        return size;
    }

    private static int ValueTypeSize((string Type, string Unit) v) => StringFieldSize(v.Type) + StringFieldSize(v.Unit);

    private static int StringFieldSize(string value)
    {
        if (value.Length == 0)
        {
            return 0;
        }

        var bytes = Encoding.UTF8.GetByteCount(value);
        return 1 + VarintSize((ulong)bytes) + bytes;
    }

    private static int SampleSize(MetricsPoint p)
    {
        var (seconds, nanos) = SplitNanos(p.TimestampNanos);
        var size = 2 + TimestampSize(seconds, nanos); // the timestamp is always set; its size is < 128
        if (p.Value != 0)
        {
            size += 1 + VarintSize((ulong)p.Value);
        }

        if (p.ValuePerSecond != 0d)
        {
            size += 9;
        }

        if (p.DurationNanos != 0)
        {
            size += 1 + VarintSize((ulong)p.DurationNanos);
        }

        if (p.Count != 0)
        {
            size += 1 + VarintSize((ulong)(long)p.Count);
        }

        if (p.HasRange)
        {
            size += RangeSize(p);
        }

        return size;
    }

    // Extension fields 100-102 of MetricsSample (min_value, max_value, max_timestamp): two-byte tags.
    private const ulong MinValueTag = (100 << 3) | 0;
    private const ulong MaxValueTag = (101 << 3) | 0;
    private const ulong MaxTimestampTag = (102 << 3) | 2;

    private static int RangeSize(MetricsPoint p)
    {
        var size = 0;
        if (p.MinValue != 0)
        {
            size += 2 + VarintSize((ulong)p.MinValue);
        }

        if (p.MaxValue != 0)
        {
            size += 2 + VarintSize((ulong)p.MaxValue);
        }

        var (seconds, nanos) = SplitNanos(p.MaxTimestampNanos);
        return size + 3 + TimestampSize(seconds, nanos); // tag, length (< 128), message
    }

    private static void WriteRange(Span<byte> span, ref int pos, MetricsPoint p)
    {
        if (p.MinValue != 0)
        {
            WriteVarint(span, ref pos, MinValueTag);
            WriteVarint(span, ref pos, (ulong)p.MinValue);
        }

        if (p.MaxValue != 0)
        {
            WriteVarint(span, ref pos, MaxValueTag);
            WriteVarint(span, ref pos, (ulong)p.MaxValue);
        }

        var (seconds, nanos) = SplitNanos(p.MaxTimestampNanos);
        WriteVarint(span, ref pos, MaxTimestampTag);
        WriteVarint(span, ref pos, (ulong)TimestampSize(seconds, nanos));
        if (seconds != 0)
        {
            span[pos++] = 1 << 3;
            WriteVarint(span, ref pos, (ulong)seconds);
        }

        if (nanos != 0)
        {
            span[pos++] = 2 << 3;
            WriteVarint(span, ref pos, (ulong)(long)nanos);
        }
    }

    private static int TimestampSize(long seconds, int nanos) =>
        (seconds != 0 ? 1 + VarintSize((ulong)seconds) : 0) + (nanos != 0 ? 1 + VarintSize((ulong)(long)nanos) : 0);

    /// <summary>As <see cref="ToTimestamp"/>: seconds rounded down, nanos in [0, 1e9).</summary>
    private static (long Seconds, int Nanos) SplitNanos(long nanos)
    {
        var seconds = Math.DivRem(nanos, 1_000_000_000L, out var rem);
        return rem < 0 ? (seconds - 1, (int)(rem + 1_000_000_000L)) : (seconds, (int)rem);
    }

    private static int VarintSize(ulong value) => Varint.Size(value);

    private static void WriteVarint(Span<byte> span, ref int pos, ulong value) => pos += Varint.Write(span[pos..], value);
}
