using Google.Protobuf;
using Parca.Protocol.Profilestore.V1Alpha1;

namespace Parca.Rpc.Server;

/// <summary>
/// Request parsers whose <c>bytes</c> fields alias the received frame instead of copying it (Google.Protobuf's
/// parser always copies every <c>bytes</c> field into a new array; for WriteRaw that is every 100+ KB pprof, each a
/// large-object-heap allocation). Hand-written for the few hot requests because Google.Protobuf has no zero-copy
/// parse. Use with <see cref="RpcServiceBuilder.MapUnary{TRequest, TResponse}(RpcMethod{TRequest, TResponse}, UnaryHandler{TRequest, TResponse}, BorrowingParser{TRequest})"/>:
/// the frame lives in a pooled buffer that goes back to the pool when the handler's task completes, so the handler
/// must not keep the request's <see cref="ByteString"/>s (or their memory) beyond that.
/// A message of any other shape (unknown fields, the deprecated tenant, malformed bytes) returns null and is parsed
/// by the generated parser instead, so results and error messages are exactly Google.Protobuf's.
/// </summary>
public static class BorrowingParsers
{
    /// <summary>WriteRawRequest with every <c>raw_profile</c> wrapped, not copied.</summary>
    public static BorrowingParser<WriteRawRequest> WriteRawRequest { get; } = ParseWriteRaw;

    /// <summary>WriteArrowRequest with its <c>ipc_buffer</c> wrapped, not copied (the ingest reads it synchronously).</summary>
    public static BorrowingParser<WriteArrowRequest> WriteArrowRequest { get; } = ParseWriteArrow;

    private static WriteArrowRequest? ParseWriteArrow(ReadOnlyMemory<byte> data)
    {
        var request = new WriteArrowRequest();
        var span = data.Span;
        var pos = 0;
        while (pos < span.Length)
        {
            if (!TryReadLengthDelimited(span, ref pos, out var field, out var length) || field != 1)
            {
                return null;
            }

            // A repeated field: the last one wins, as in the generated parser.
            request.IpcBuffer = UnsafeByteOperations.UnsafeWrap(data.Slice(pos, length));
            pos += length;
        }

        return request;
    }

    private static WriteRawRequest? ParseWriteRaw(ReadOnlyMemory<byte> data)
    {
        try
        {
            var request = new WriteRawRequest();
            var span = data.Span;
            var pos = 0;
            while (pos < span.Length)
            {
                if (!TryReadVarint(span, ref pos, out var tag))
                {
                    return null;
                }

                switch (tag)
                {
                    case (2 << 3) | 2:
                        {
                            if (!TryReadLength(span, ref pos, out var length))
                            {
                                return null;
                            }

                            var series = ParseSeries(data.Slice(pos, length));
                            if (series is null)
                            {
                                return null;
                            }

                            request.Series.Add(series);
                            pos += length;
                            break;
                        }

                    case (3 << 3) | 0:
                        if (!TryReadVarint(span, ref pos, out var normalized))
                        {
                            return null;
                        }

                        request.Normalized = normalized != 0;
                        break;

                    default:
                        return null;
                }
            }

            return request;
        }
        catch (InvalidProtocolBufferException)
        {
            return null; // the generated parser reports it with its own message
        }
    }

    private static RawProfileSeries? ParseSeries(ReadOnlyMemory<byte> data)
    {
        var series = new RawProfileSeries();
        var span = data.Span;
        var pos = 0;
        while (pos < span.Length)
        {
            if (!TryReadLengthDelimited(span, ref pos, out var field, out var length))
            {
                return null;
            }

            switch (field)
            {
                case 1:
                    (series.Labels ??= new LabelSet()).MergeFrom(span.Slice(pos, length));
                    break;
                case 2:
                    var sample = ParseSample(data.Slice(pos, length));
                    if (sample is null)
                    {
                        return null;
                    }

                    series.Samples.Add(sample);
                    break;
                default:
                    return null;
            }

            pos += length;
        }

        return series;
    }

    private static RawSample? ParseSample(ReadOnlyMemory<byte> data)
    {
        var sample = new RawSample();
        var span = data.Span;
        var pos = 0;
        while (pos < span.Length)
        {
            if (!TryReadLengthDelimited(span, ref pos, out var field, out var length))
            {
                return null;
            }

            switch (field)
            {
                case 1:
                    sample.RawProfile = UnsafeByteOperations.UnsafeWrap(data.Slice(pos, length));
                    break;
                case 2:
                    sample.ExecutableInfo.Add(ExecutableInfo.Parser.ParseFrom(span.Slice(pos, length)));
                    break;
                default:
                    return null;
            }

            pos += length;
        }

        return sample;
    }

    /// <summary>The next field's number and length when it is length-delimited (the only wire type RawProfileSeries and RawSample have).</summary>
    private static bool TryReadLengthDelimited(ReadOnlySpan<byte> span, ref int pos, out ulong field, out int length)
    {
        length = 0;
        field = 0;
        if (!TryReadVarint(span, ref pos, out var tag) || (tag & 7) != 2 || !TryReadLength(span, ref pos, out length))
        {
            return false;
        }

        field = tag >> 3;
        return true;
    }

    private static bool TryReadLength(ReadOnlySpan<byte> span, ref int pos, out int length)
    {
        length = 0;
        if (!TryReadVarint(span, ref pos, out var value) || value > (ulong)(span.Length - pos))
        {
            return false;
        }

        length = (int)value;
        return true;
    }

    private static bool TryReadVarint(ReadOnlySpan<byte> span, ref int pos, out ulong value) =>
        Pprof.Protobuf.Varint.TryRead(span, ref pos, out value);
}
