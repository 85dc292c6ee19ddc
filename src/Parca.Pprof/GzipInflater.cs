using System.Buffers.Binary;
using System.IO.Compression;

namespace Parca.Pprof;

/// <summary>
/// Inflates a single-member gzip stream into one buffer of exactly the size its trailer declares. The trailer's
/// ISIZE is the inflated size mod 2^32; every limit here is below 2^31, so for an honest stream within the limit it
/// is the exact size, and a stream whose trailer claims more than the limit is refused before anything is inflated.
/// A lying trailer is caught when the output overflows (or falls short of) the size it declares: for sizes beyond
/// the pooled range by a counting pass before any large buffer exists, so a forged bomb costs CPU up to the limit but
/// no memory; an honest stream costs exactly its size, reserved from the budget first, never a growing buffer.
/// </summary>
internal static class GzipInflater
{
    // Deflate emits at most 258 bytes per 2 bits of stored output (about 1032:1); a trailer that claims more than
    // that ratio allows cannot be honest, and refusing it keeps a forged ISIZE from buying a big buffer cheaply.
    private const long MaxDeflateRatio = 1032;
    private const int GzipOverhead = 18; // 10-byte header + 8-byte trailer

    public static unsafe void Inflate(ReadOnlySpan<byte> gzip, FlatProfile target, long maxBytes, DecodeBudget? budget)
    {
        if (gzip.Length < GzipOverhead)
        {
            throw new PprofException(PprofErrorCode.MalformedGzip, "profile: invalid gzip stream: " + gzip.Length + " bytes is shorter than a gzip header and trailer");
        }

        long declared = BinaryPrimitives.ReadUInt32LittleEndian(gzip[^4..]);
        if (declared > (gzip.Length - GzipOverhead) * MaxDeflateRatio + 1024)
        {
            throw new PprofException(
                PprofErrorCode.MalformedGzip,
                "profile: invalid gzip stream: size trailer declares " + declared + " bytes, more than " + gzip.Length + " compressed bytes can hold");
        }

        if (declared > Math.Min(maxBytes, Array.MaxLength))
        {
            throw new PprofException(
                PprofErrorCode.DecompressedSizeLimit,
                "profile: gzip inflates to " + declared + " bytes (size trailer), more than the limit of " + maxBytes + " bytes");
        }

        var size = (int)declared;
        if (size > PprofBuffers.MaxPooledBytes)
        {
            // A buffer this large is not pooled: allocating it for a stream whose trailer lies would leave garbage
            // behind for every forged bomb. A first pass that only counts the output (into a small pooled scratch
            // buffer) proves the trailer before anything large is allocated; honest large profiles are rare and pay
            // a second inflation, small ones none.
            var produced = CountInflated(gzip, size);
            if (produced != size)
            {
                throw produced > size
                    ? new PprofException(PprofErrorCode.MalformedGzip, "profile: invalid gzip stream: inflates to more than the " + declared + " bytes its size trailer declares")
                    : new PprofException(PprofErrorCode.MalformedGzip, "profile: invalid gzip stream: truncated (size trailer declares " + declared + " bytes, inflated " + produced + ")");
            }
        }

        target.Reserve(budget, declared);
        var buffer = target.TakeData(size);
        var length = 0;
        try
        {
            fixed (byte* pointer = gzip)
            {
                using var compressed = new UnmanagedMemoryStream(pointer, gzip.Length);
                using var inflater = new GZipStream(compressed, CompressionMode.Decompress);
                while (length < size)
                {
                    var read = inflater.Read(buffer, length, size - length);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                }

                Span<byte> probe = stackalloc byte[1];
                if (length == size && inflater.Read(probe) != 0)
                {
                    // More output than declared: a forged trailer, several members, or more than 4 GiB.
                    throw new PprofException(
                        PprofErrorCode.MalformedGzip,
                        "profile: invalid gzip stream: inflates to more than the " + declared + " bytes its size trailer declares");
                }
            }
        }
        catch (InvalidDataException e)
        {
            PprofBuffers.Return(buffer);
            throw new PprofException(PprofErrorCode.MalformedGzip, "profile: invalid gzip stream: " + e.Message, e);
        }
        catch
        {
            PprofBuffers.Return(buffer);
            throw;
        }

        // GZipStream stops quietly at the end of a truncated stream; the size trailer catches that.
        if (length != size)
        {
            PprofBuffers.Return(buffer);
            throw new PprofException(PprofErrorCode.MalformedGzip, "profile: invalid gzip stream: truncated (size trailer declares " + declared + " bytes, inflated " + length + ")");
        }

        target.SetData(buffer, length);
    }

    /// <summary>Inflates into a scratch buffer and returns the output size, stopping once it exceeds <paramref name="size"/>.</summary>
    private static unsafe long CountInflated(ReadOnlySpan<byte> gzip, int size)
    {
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            fixed (byte* pointer = gzip)
            {
                using var compressed = new UnmanagedMemoryStream(pointer, gzip.Length);
                using var inflater = new GZipStream(compressed, CompressionMode.Decompress);
                long total = 0;
                int read;
                while (total <= size && (read = inflater.Read(scratch)) > 0)
                {
                    total += read;
                }

                return total;
            }
        }
        catch (InvalidDataException e)
        {
            throw new PprofException(PprofErrorCode.MalformedGzip, "profile: invalid gzip stream: " + e.Message, e);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}
