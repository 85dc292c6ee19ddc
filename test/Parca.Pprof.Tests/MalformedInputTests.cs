using System.IO.Compression;
using Parca.Pprof.Protobuf;

namespace Parca.Pprof.Tests;

public sealed class MalformedInputTests
{
    private static byte[] Inflate(string file)
    {
        using var gz = new GZipStream(new MemoryStream(TestFiles.Read(file)), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gz.CopyTo(output);
        return output.ToArray();
    }

    private static PprofException Refused(byte[] input, PprofReadOptions? options = null) =>
        Assert.Throws<PprofException>(() => PprofDecoder.Decode(input, options).Dispose());

    /// <summary>Writes a raw profile message by hand: <paramref name="body"/> gets a writer to add fields.</summary>
    private static byte[] Raw(Action<ProtoWriter> body)
    {
        using var w = new ProtoWriter();
        body(w);
        return w.WrittenSpan.ToArray();
    }

    private static void Message(ProtoWriter w, int field, Action<ProtoWriter> body)
    {
        var inner = Raw(body);
        w.WriteDelimitedHeader(field, inner.Length);
        w.WriteRaw(inner);
    }

    private static void Strings(ProtoWriter w, params string[] strings)
    {
        foreach (var s in strings)
        {
            w.WriteString(6, s);
        }
    }

    [Theory]
    [InlineData("parca/fib.pb.gz")]
    [InlineData("go-runtime/cpu.pb.gz")]
    [InlineData("google/java.heap.converted.pb.gz")]
    public void Every_truncation_of_a_real_profile_is_refused_with_a_pprof_error(string file)
    {
        var bytes = Inflate(file);
        using var original = PprofDecoder.Decode(bytes);
        using var flat = new FlatProfile();
        var refused = 0;
        for (var length = 0; length < bytes.Length; length++)
        {
            try
            {
                PprofDecoder.Decode(bytes.AsSpan(0, length), flat);
            }
            catch (PprofException e)
            {
                Assert.False(e.IsLimit);
                refused++;
                continue;
            }

            // A cut can only be valid past every referenced record: among the header fields and unreferenced
            // strings written at the end.
            Assert.Equal(original.SampleCount, flat.SampleCount);
            Assert.Equal(original.Locations.Length, flat.Locations.Length);
        }

        Assert.True(refused > bytes.Length - 64, $"{refused} of {bytes.Length} truncations refused");
    }

    [Fact]
    public void Every_truncation_of_a_gzip_profile_is_refused_with_a_pprof_error()
    {
        var bytes = TestFiles.Read("parca/fib.pb.gz");
        for (var length = 0; length < bytes.Length; length++)
        {
            var e = Assert.Throws<PprofException>(() => PprofDecoder.Decode(bytes.AsSpan(0, length)).Dispose());
            Assert.Contains(e.Code, new[] { PprofErrorCode.EmptyInput, PprofErrorCode.MalformedGzip, PprofErrorCode.MalformedProtobuf, PprofErrorCode.InvalidProfile });
        }
    }

    [Fact]
    public void Empty_input_is_refused()
    {
        Assert.Equal(PprofErrorCode.EmptyInput, Refused([]).Code);
    }

    [Fact]
    public void Wrong_wire_type_names_the_field()
    {
        var e = Refused([0x10, 0x01]);

        Assert.Equal(PprofErrorCode.MalformedProtobuf, e.Code);
        Assert.Equal("sample[0]: field 2 has wire type 0, want 2", e.Message);
    }

    [Fact]
    public void Wrong_wire_type_inside_a_location_line_names_the_line()
    {
        var input = Raw(w =>
        {
            Message(w, 4, l =>
            {
                l.WriteField(1, 1);
                Message(l, 4, line => line.WriteField(1, 1));
                l.WriteVarint((2 << 3) | 2); // mapping_id as length-delimited
                l.WriteVarint(0);
            });
            Strings(w, "");
        });

        var e = Refused(input);

        Assert.Equal(PprofErrorCode.MalformedProtobuf, e.Code);
        Assert.Equal("location[0].mapping_id: field 2 has wire type 2, want 0", e.Message);
    }

    [Fact]
    public void Truncated_varint_in_a_sample_names_the_sample()
    {
        var input = Raw(w =>
        {
            Strings(w, "");
            Message(w, 2, s => s.WriteField(2, 1));
            w.WriteVarint((2 << 3) | 2);
            w.WriteVarint(2);
            w.WriteVarint(0x10);
            w.WriteVarint(0x80); // value field whose varint never ends
        });

        var e = Refused(input);

        Assert.Equal(PprofErrorCode.MalformedProtobuf, e.Code);
        Assert.Equal("sample[1]: truncated varint", e.Message);
    }

    [Fact]
    public void Length_past_the_end_is_refused()
    {
        var e = Refused([0x32, 0x05, 0x61]);

        Assert.Equal(PprofErrorCode.MalformedProtobuf, e.Code);
        Assert.Equal("string_table[0]: length 5 exceeds the 1 remaining bytes", e.Message);
    }

    [Fact]
    public void Varint_longer_than_ten_bytes_is_refused()
    {
        var e = Refused([0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);

        Assert.Equal(PprofErrorCode.MalformedProtobuf, e.Code);
        Assert.Equal("varint overflows 64 bits", e.Message);
    }

    [Fact]
    public void String_table_must_start_with_the_empty_string()
    {
        var e = Refused(Raw(w => Strings(w, "x")));

        Assert.Equal(PprofErrorCode.InvalidProfile, e.Code);
        Assert.Equal("string_table[0] must be empty", e.Message);
    }

    [Fact]
    public void Missing_string_table_is_refused()
    {
        var e = Refused(Raw(w => w.WriteField(9, 12345)));

        Assert.Equal("string_table: is empty; string_table[0] must be the empty string", e.Message);
    }

    [Fact]
    public void Out_of_range_string_index_names_field_and_index()
    {
        var input = Raw(w =>
        {
            Message(w, 5, f => f.WriteField(1, 1));
            Message(w, 5, f =>
            {
                f.WriteField(1, 2);
                f.WriteField(2, 1000);
            });
            Strings(w, "", "main");
        });

        var e = Refused(input);

        Assert.Equal(PprofErrorCode.InvalidProfile, e.Code);
        Assert.Equal("function[1].name: string index 1000 out of range (string_table has 2 entries)", e.Message);
    }

    [Fact]
    public void Negative_string_index_is_refused_while_decoding()
    {
        var input = Raw(w =>
        {
            Message(w, 1, t => t.WriteField(1, unchecked((ulong)-1L)));
            Strings(w, "");
        });

        var e = Refused(input);

        Assert.Equal("sample_type[0]: type: string index -1 out of range", e.Message);
    }

    [Fact]
    public void Unknown_location_id_names_sample_and_position()
    {
        var p = new Profile();
        p.SampleTypes.Add(new("samples", "count"));
        p.Locations.Add(new Location { Id = 1, Address = 0x10 });
        for (var i = 0; i < 12; i++)
        {
            p.Samples.Add(new Sample { LocationIds = [1], Values = [1] });
        }

        p.Samples.Add(new Sample { LocationIds = [1, 1, 1, 99], Values = [1] });

        var e = Refused(PprofEncoder.Encode(p));

        Assert.Equal(PprofErrorCode.InvalidProfile, e.Code);
        Assert.Equal("sample[12].location_id[3]: location id 99 not found", e.Message);
    }

    [Fact]
    public void Location_id_zero_in_a_sample_is_refused()
    {
        var p = new Profile();
        p.SampleTypes.Add(new("samples", "count"));
        p.Samples.Add(new Sample { LocationIds = [0], Values = [1] });

        Assert.Equal("sample[0].location_id[0]: location id 0 is not allowed", Refused(PprofEncoder.Encode(p)).Message);
    }

    [Fact]
    public void Value_count_must_match_sample_types()
    {
        var p = new Profile();
        p.SampleTypes.Add(new("alloc_objects", "count"));
        p.SampleTypes.Add(new("alloc_space", "bytes"));
        p.Samples.Add(new Sample { Values = [1, 2] });
        p.Samples.Add(new Sample { Values = [1] });

        Assert.Equal("sample[1].value: has 1 values, want 2 (one per sample_type)", Refused(PprofEncoder.Encode(p)).Message);
    }

    [Fact]
    public void Unknown_mapping_and_function_ids_are_refused()
    {
        var p = new Profile();
        var l = new Location { Id = 1, MappingId = 7 };
        p.Locations.Add(l);
        Assert.Equal("location[0].mapping_id: mapping id 7 not found", Refused(PprofEncoder.Encode(p)).Message);

        l.MappingId = 0;
        l.Lines.Add(new Line(1, 10));
        l.Lines.Add(new Line(3, 10));
        p.Functions.Add(new Function { Id = 1, Name = "f" });
        Assert.Equal("location[0].line[1].function_id: function id 3 not found", Refused(PprofEncoder.Encode(p)).Message);
    }

    [Fact]
    public void Zero_and_duplicate_ids_are_refused()
    {
        var p = new Profile();
        p.Functions.Add(new Function { Id = 1 });
        p.Functions.Add(new Function { Id = 0 });
        Assert.Equal("function[1].id: must not be 0", Refused(PprofEncoder.Encode(p)).Message);

        p.Functions[1].Id = 1;
        Assert.Equal("function[1].id: duplicate id 1", Refused(PprofEncoder.Encode(p)).Message);
    }

    [Fact]
    public void Non_sequential_ids_are_accepted_by_default_and_refused_in_parca_mode()
    {
        var p = new Profile();
        p.SampleTypes.Add(new("samples", "count"));
        p.Functions.Add(new Function { Id = 40, Name = "main" });
        var l = new Location { Id = 1000, Address = 0x42 };
        l.Lines.Add(new Line(40, 7));
        p.Locations.Add(l);
        p.Samples.Add(new Sample { LocationIds = [1000], Values = [3] });
        var bytes = PprofEncoder.Encode(p);

        using (var flat = PprofDecoder.Decode(bytes))
        {
            Assert.Equal([0], flat.GetStack(0).ToArray());
            Assert.Equal(0, flat.GetLines(0)[0].FunctionIndex);
            Assert.Equal("main", flat.GetString(flat.Functions[0].Name));
        }

        var e = Refused(bytes, PprofReadOptions.ParcaCompatible);
        Assert.Equal("function[0].id: is 40, want 1 (ids must be sequential from 1)", e.Message);
    }

    [Fact]
    public void Label_key_must_not_be_empty()
    {
        var p = new Profile();
        p.Samples.Add(new Sample { Labels = { new Label("", "v") } });

        Assert.Equal("sample[0].label[0].key: must not be 0 (the empty string)", Refused(PprofEncoder.Encode(p)).Message);
    }

    [Fact]
    public void Label_with_both_str_and_num_is_refused()
    {
        var p = new Profile();
        p.Samples.Add(new Sample { Labels = { new Label("k", "v"), new Label("k", "v", 3) } });

        Assert.Equal("sample[0].label[1]: has both str and num", Refused(PprofEncoder.Encode(p)).Message);
    }

    [Fact]
    public void Invalid_gzip_is_refused()
    {
        var e = Refused([0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04]);

        Assert.Equal(PprofErrorCode.MalformedGzip, e.Code);
        Assert.StartsWith("profile: invalid gzip stream", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gzip_bomb_is_stopped_at_the_default_decompressed_limit()
    {
        // 600 MiB of zeros compress to well under 1 MiB; the default limit is 512 MiB.
        var bomb = GzipData.Zeros(600L << 20);
        Assert.True(bomb.Length < PprofLimits.Default.MaxCompressedBytes);

        var e = Refused(bomb);

        Assert.Equal(PprofErrorCode.DecompressedSizeLimit, e.Code);
        Assert.True(e.IsLimit);
        Assert.Equal(8, e.GrpcStatusCode);
        Assert.Equal("profile: gzip inflates to 629145600 bytes (size trailer), more than the limit of 536870912 bytes", e.Message);
    }

    [Fact]
    public void Decompressed_limit_applies_to_real_profiles()
    {
        var options = new PprofReadOptions { Limits = new PprofLimits { MaxDecompressedBytes = 10_000 } };

        var e = Refused(TestFiles.Read("parca/fib.pb.gz"), options);

        Assert.Equal(PprofErrorCode.DecompressedSizeLimit, e.Code);
        Assert.Equal(PprofErrorCode.DecompressedSizeLimit, Refused(Inflate("parca/fib.pb.gz"), options).Code);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(4095)]
    public void Tiny_decompressed_limits_are_enforced(long limit)
    {
        var options = new PprofReadOptions { Limits = new PprofLimits { MaxDecompressedBytes = limit } };

        Assert.Equal(PprofErrorCode.DecompressedSizeLimit, Refused(TestFiles.Read("parca/fib.pb.gz"), options).Code);
        Assert.Equal(PprofErrorCode.DecompressedSizeLimit, Refused(Inflate("parca/fib.pb.gz"), options).Code);
    }

    [Fact]
    public void Oversized_input_is_refused_before_reading_it()
    {
        var options = new PprofReadOptions { Limits = new PprofLimits { MaxCompressedBytes = 1000 } };
        var bytes = TestFiles.Read("parca/fib.pb.gz");

        var e = Refused(bytes, options);
        Assert.Equal(PprofErrorCode.CompressedSizeLimit, e.Code);
        Assert.Equal("profile: 6355 bytes exceeds the limit of 1000 bytes", e.Message);

        using var flat = new FlatProfile();
        var fromStream = Assert.Throws<PprofException>(() => PprofDecoder.Decode(new MemoryStream(bytes), flat, options));
        Assert.Equal(PprofErrorCode.CompressedSizeLimit, fromStream.Code);
    }

    [Fact]
    public void Count_limits_are_enforced()
    {
        var bytes = TestFiles.Read("parca/fib.pb.gz");
        PprofException Limit(PprofLimits limits) => Refused(bytes, new PprofReadOptions { Limits = limits });

        Assert.Equal("sample: more than 3 entries (limit)", Limit(new PprofLimits { MaxSamples = 3 }).Message);
        Assert.Equal("location: more than 3 entries (limit)", Limit(new PprofLimits { MaxLocations = 3 }).Message);
        Assert.Equal("function: more than 3 entries (limit)", Limit(new PprofLimits { MaxFunctions = 3 }).Message);
        Assert.Equal("mapping: more than 0 entries (limit)", Limit(new PprofLimits { MaxMappings = 0 }).Message);
        Assert.Equal("string_table: more than 3 entries (limit)", Limit(new PprofLimits { MaxStrings = 3 }).Message);
        Assert.Equal(PprofErrorCode.CountLimit, Limit(new PprofLimits { MaxSamples = 3 }).Code);
    }

    [Fact]
    public void A_failed_decode_leaves_a_reusable_empty_profile()
    {
        using var flat = new FlatProfile();
        Assert.Throws<PprofException>(() => PprofDecoder.Decode([0x10, 0x01], flat));
        Assert.Equal(0, flat.SampleCount);

        PprofDecoder.Decode(TestFiles.Read("parca/fib.pb.gz"), flat);
        Assert.True(flat.SampleCount > 0);
    }
}
