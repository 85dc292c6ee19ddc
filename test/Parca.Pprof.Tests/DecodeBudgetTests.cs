using System.Buffers.Binary;
using System.IO.Compression;

namespace Parca.Pprof.Tests;

/// <summary>
/// Gzip bombs and the in-flight budget: the inflated size is known from the trailer before anything is inflated, a
/// forged trailer is caught when the output overflows the buffer it bought, and every decode's bytes are reserved
/// from a shared budget until released.
/// </summary>
public sealed class DecodeBudgetTests
{
    private static readonly byte[] s_fib = TestFiles.Read("parca/fib.pb.gz");

    private static uint Trailer(byte[] gzip) => BinaryPrimitives.ReadUInt32LittleEndian(gzip.AsSpan(gzip.Length - 4));

    private static byte[] WithTrailer(byte[] gzip, uint size)
    {
        var copy = (byte[])gzip.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(copy.Length - 4), size);
        return copy;
    }

    [Fact]
    public void A_bomb_whose_trailer_exceeds_the_limit_is_refused_before_inflating()
    {
        var bomb = GzipData.Zeros(80L << 20); // 80 MiB of zeros: about 80 KiB compressed
        var budget = new DecodeBudget(64L << 20);
        var options = new PprofReadOptions { Budget = budget, Limits = new PprofLimits { MaxDecompressedBytes = 64L << 20 } };
        using var flat = new FlatProfile();

        var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(bomb, flat, options));

        Assert.Equal(PprofErrorCode.DecompressedSizeLimit, e.Code);
        Assert.Equal("profile: gzip inflates to 83886080 bytes (size trailer), more than the limit of 67108864 bytes", e.Message);
        Assert.Equal(0, budget.InUseBytes);
    }

    [Fact]
    public void A_trailer_smaller_than_the_output_is_refused_once_the_output_overflows_it()
    {
        var forged = WithTrailer(s_fib, 100);
        var budget = new DecodeBudget(1 << 20);
        using var flat = new FlatProfile();

        var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(forged, flat, new PprofReadOptions { Budget = budget }));

        Assert.Equal(PprofErrorCode.MalformedGzip, e.Code);
        Assert.Equal("profile: invalid gzip stream: inflates to more than the 100 bytes its size trailer declares", e.Message);
        Assert.Equal(0, budget.InUseBytes);
    }

    [Fact]
    public void A_large_forged_trailer_is_refused_without_allocating_its_size()
    {
        var forged = WithTrailer(GzipData.Zeros(16L << 20), 8 << 20); // inflates to 16 MiB, claims 8 MiB
        var budget = new DecodeBudget(64L << 20);
        using var flat = new FlatProfile();
        var options = new PprofReadOptions { Budget = budget };
        Assert.Throws<PprofException>(() => PprofDecoder.Decode(forged, flat, options)); // warm up (pools, inflater)

        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(forged, flat, options));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(PprofErrorCode.MalformedGzip, e.Code);
        Assert.Equal("profile: invalid gzip stream: inflates to more than the 8388608 bytes its size trailer declares", e.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes");
        Assert.Equal(0, budget.InUseBytes);
    }

    [Fact]
    public void A_large_honest_profile_decodes_through_the_counting_pass()
    {
        // A real profile padded past the pooled size with a skipped unknown field (field 100, bytes): still valid pprof.
        var raw = GzipData.Inflate(s_fib);
        var padding = new byte[3 << 20];
        using var padded = new MemoryStream();
        padded.Write(raw);
        padded.Write([0xA2, 0x06]); // tag: field 100, wire type 2
        var length = padding.Length;
        while (length >= 0x80)
        {
            padded.WriteByte((byte)(length | 0x80));
            length >>= 7;
        }

        padded.WriteByte((byte)length);
        padded.Write(padding);
        using var gzipped = new MemoryStream();
        using (var gz = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(padded.ToArray());
        }

        using var flat = new FlatProfile();
        PprofDecoder.Decode(gzipped.ToArray(), flat);
        using var reference = PprofDecoder.Decode(s_fib);
        Assert.Equal(reference.SampleCount, flat.SampleCount);
        Assert.Equal((int)padded.Length, flat.Data.Length);
    }

    [Fact]
    public void A_trailer_larger_than_deflate_can_produce_is_refused_without_allocating()
    {
        var forged = WithTrailer(s_fib, 500_000_000);

        var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(forged).Dispose());

        Assert.Equal(PprofErrorCode.MalformedGzip, e.Code);
        Assert.Equal($"profile: invalid gzip stream: size trailer declares 500000000 bytes, more than {s_fib.Length} compressed bytes can hold", e.Message);
    }

    [Fact]
    public void A_trailer_larger_than_the_output_is_refused()
    {
        var forged = WithTrailer(s_fib, Trailer(s_fib) + 10);

        var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(forged).Dispose());

        // .NET's inflater checks the trailer against its output too (its message: "The archive entry was
        // compressed using an unsupported compression method."); either way the stream is malformed.
        Assert.Equal(PprofErrorCode.MalformedGzip, e.Code);
        Assert.StartsWith("profile: invalid gzip stream: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_decoded_profile_holds_its_inflated_size_until_released()
    {
        var budget = new DecodeBudget(1 << 20);
        var options = new PprofReadOptions { Budget = budget };
        using var flat = new FlatProfile();

        PprofDecoder.Decode(s_fib, flat, options);
        Assert.Equal(Trailer(s_fib), budget.InUseBytes);
        Assert.Equal((int)Trailer(s_fib), flat.Data.Length);

        flat.ReleaseBudget();
        Assert.Equal(0, budget.InUseBytes);
        Assert.True(flat.SampleCount > 0); // the data stays readable

        PprofDecoder.Decode(s_fib, flat, options);
        PprofDecoder.Decode(s_fib, flat, options); // a new decode replaces the earlier reservation
        Assert.Equal(Trailer(s_fib), budget.InUseBytes);
    }

    [Fact]
    public void Decodes_beyond_the_budget_are_refused_until_others_release()
    {
        var size = Trailer(s_fib);
        var budget = new DecodeBudget((size * 2) + 10);
        var options = new PprofReadOptions { Budget = budget };
        using var a = new FlatProfile();
        using var b = new FlatProfile();
        using var c = new FlatProfile();
        PprofDecoder.Decode(s_fib, a, options);
        PprofDecoder.Decode(s_fib, b, options);

        var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(s_fib, c, options));
        Assert.Equal(PprofErrorCode.DecodeBudgetExhausted, e.Code);
        Assert.True(e.IsLimit);
        Assert.Equal($"profile: {size} bytes do not fit in the in-flight decode budget of {budget.CapacityBytes} bytes ({size * 2} in use by other requests); retry later", e.Message);

        a.ReleaseBudget();
        PprofDecoder.Decode(s_fib, c, options);
        Assert.Equal(size * 2, budget.InUseBytes);

        // Uncompressed input is reserved too.
        using var raw = new FlatProfile();
        Assert.Equal(PprofErrorCode.DecodeBudgetExhausted, Assert.Throws<PprofException>(() => PprofDecoder.Decode(GzipData.Inflate(s_fib), raw, options)).Code);
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, budget.InUseBytes);
    }

    [Fact]
    public void Concurrent_decodes_never_reserve_more_than_the_budget()
    {
        var size = Trailer(s_fib);
        var budget = new DecodeBudget(size * 3);
        var options = new PprofReadOptions { Budget = budget };
        long refused = 0, decoded = 0, peak = 0;
        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            using var flat = new FlatProfile();
            try
            {
                PprofDecoder.Decode(s_fib, flat, options);
                Interlocked.Increment(ref decoded);
                var inUse = budget.InUseBytes;
                long seen;
                while ((seen = Interlocked.Read(ref peak)) < inUse && Interlocked.CompareExchange(ref peak, inUse, seen) != seen)
                {
                }
            }
            catch (PprofException e) when (e.Code == PprofErrorCode.DecodeBudgetExhausted)
            {
                Interlocked.Increment(ref refused);
            }
        });

        Assert.Equal(400, decoded + refused);
        Assert.True(decoded > 0);
        Assert.True(peak <= budget.CapacityBytes, $"peak {peak} > capacity {budget.CapacityBytes}");
        Assert.Equal(0, budget.InUseBytes);
    }

    [Fact]
    public void Stack_depth_limit_names_the_sample()
    {
        var p = new Profile();
        p.SampleTypes.Add(new PprofValueType("samples", "count"));
        p.Functions.Add(new Function { Id = 1, Name = "f" });
        var loc = new Location { Id = 1 };
        loc.Lines.Add(new Line(1, 1));
        p.Locations.Add(loc);
        p.Samples.Add(new Sample { LocationIds = [1, 1, 1], Values = [1] });
        p.Samples.Add(new Sample { LocationIds = [.. Enumerable.Repeat(1UL, 6)], Values = [1] });
        var bytes = PprofEncoder.Encode(p);

        var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(bytes, new PprofReadOptions { Limits = new PprofLimits { MaxStackDepth = 5 } }).Dispose());

        Assert.Equal(PprofErrorCode.CountLimit, e.Code);
        Assert.Equal("sample[1].location_id: 6 frames, more than the stack depth limit of 5", e.Message);
        PprofDecoder.Decode(bytes, new PprofReadOptions { Limits = new PprofLimits { MaxStackDepth = 6 } }).Dispose();
    }
}
