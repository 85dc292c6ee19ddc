using Google.Protobuf;
using PprofPb = Parca.Protocol.Pprof;

namespace Parca.Pprof.Tests;

/// <summary>
/// Our decoder and encoder against Google.Protobuf's generated classes for profile.proto, field by field, including
/// the fields <c>go tool pprof -raw</c> does not print (columns, drop/keep frames, doc url, comments, raw indices).
/// </summary>
public sealed class GeneratedReferenceTests
{
    public static TheoryData<string> Files => TestFiles.All();

    [Theory]
    [MemberData(nameof(Files))]
    public void Flat_profile_matches_the_generated_parser_field_by_field(string file)
    {
        var raw = GzipData.Inflate(TestFiles.Read(file));
        var reference = PprofPb.Profile.Parser.ParseFrom(raw);
        using var flat = PprofDecoder.Decode(raw);

        Assert.Equal(reference.StringTable, Enumerable.Range(0, flat.StringCount).Select(flat.GetString));
        Assert.Equal(reference.SampleType.Select(t => (t.Type, t.Unit)), flat.SampleTypes.ToArray().Select(t => ((long)t.Type, (long)t.Unit)));
        Assert.Equal(reference.Sample.Count, flat.SampleCount);
        for (var i = 0; i < flat.SampleCount; i++)
        {
            var s = reference.Sample[i];
            Assert.Equal(s.LocationId, flat.GetStack(i).ToArray().Select(l => flat.Locations[l].Id));
            Assert.Equal(s.Value, flat.GetValues(i).ToArray());
            Assert.Equal(s.Label.Select(l => (l.Key, l.Str, l.Num, l.NumUnit)), flat.GetLabels(i).ToArray().Select(l => ((long)l.Key, (long)l.Str, l.Num, (long)l.NumUnit)));
        }

        Assert.Equal(
            reference.Mapping.Select(m => (m.Id, m.MemoryStart, m.MemoryLimit, m.FileOffset, m.Filename, m.BuildId, m.HasFunctions, m.HasFilenames, m.HasLineNumbers, m.HasInlineFrames)),
            flat.Mappings.ToArray().Select(m => (m.Id, m.MemoryStart, m.MemoryLimit, m.FileOffset, (long)m.Filename, (long)m.BuildId,
                m.Flags.HasFlag(MappingFlags.HasFunctions), m.Flags.HasFlag(MappingFlags.HasFilenames), m.Flags.HasFlag(MappingFlags.HasLineNumbers), m.Flags.HasFlag(MappingFlags.HasInlineFrames))));
        Assert.Equal(
            reference.Location.Select(l => (l.Id, l.MappingId, l.Address, l.IsFolded, string.Join(";", l.Line.Select(x => (x.FunctionId, x.Line_, x.Column))))),
            Enumerable.Range(0, flat.Locations.Length).Select(j =>
            {
                var l = flat.Locations[j];
                return (l.Id, l.MappingId, l.Address, l.IsFolded, string.Join(";", flat.GetLines(j).ToArray().Select(x => (x.FunctionId, x.Line, x.Column))));
            }));
        Assert.Equal(
            reference.Function.Select(f => (f.Id, f.Name, f.SystemName, f.Filename, f.StartLine)),
            flat.Functions.ToArray().Select(f => (f.Id, (long)f.Name, (long)f.SystemName, (long)f.Filename, f.StartLine)));
        Assert.Equal(
            (reference.DropFrames, reference.KeepFrames, reference.TimeNanos, reference.DurationNanos, reference.Period, reference.DefaultSampleType, reference.DocUrl),
            ((long)flat.DropFrames, (long)flat.KeepFrames, flat.TimeNanos, flat.DurationNanos, flat.Period, (long)flat.DefaultSampleType, (long)flat.DocUrl));
        Assert.Equal(reference.PeriodType is null ? (0L, 0L) : (reference.PeriodType.Type, reference.PeriodType.Unit), (flat.PeriodType.Type, flat.PeriodType.Unit));
        Assert.Equal(reference.PeriodType is not null, flat.HasPeriodType);
        Assert.Equal(reference.Comment, flat.Comments.ToArray());
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Generated_parser_reads_our_encoding_with_the_same_content(string file)
    {
        var model = PprofDecoder.DecodeProfile(TestFiles.Read(file));
        var ours = PprofPb.Profile.Parser.ParseFrom(PprofEncoder.Encode(model, compress: false));
        var original = PprofPb.Profile.Parser.ParseFrom(GzipData.Inflate(TestFiles.Read(file)));

        // String indices may differ (our table is in first-use order), so compare with strings resolved.
        Assert.Equal(Resolve(original), Resolve(ours));
    }

    [Fact]
    public void Every_field_survives_our_encoder_and_the_generated_parser()
    {
        var p = new Profile
        {
            DropFrames = "runtime\\..*",
            KeepFrames = "runtime\\.main",
            TimeNanos = 1_700_000_000_123_456_789,
            DurationNanos = 10_000_000_000,
            PeriodType = new PprofValueType("cpu", "nanoseconds"),
            Period = 10_000_000,
            DefaultSampleType = "cpu",
            DocUrl = "https://example.com/doc",
        };
        p.Comments.Add("first");
        p.Comments.Add("second");
        p.SampleTypes.Add(new("samples", "count"));
        p.SampleTypes.Add(new("cpu", "nanoseconds"));
        p.Mappings.Add(new Mapping { Id = 1, MemoryStart = 0x400000, MemoryLimit = 0x500000, FileOffset = 0x1000, Filename = "/bin/app", BuildId = "abc123", HasFunctions = true, HasFilenames = true, HasLineNumbers = true, HasInlineFrames = true });
        p.Functions.Add(new Function { Id = 1, Name = "main.main", SystemName = "main.main", Filename = "main.go", StartLine = 10 });
        p.Functions.Add(new Function { Id = 2, Name = "inl", SystemName = "_Z3inlv", Filename = "inl.h", StartLine = 3 });
        var l = new Location { Id = 1, MappingId = 1, Address = 0x401234, IsFolded = true };
        l.Lines.Add(new Line(2, 5, 7));
        l.Lines.Add(new Line(1, 12, 3));
        p.Locations.Add(l);
        var s = new Sample { LocationIds = [1, 1], Values = [1, -10_000_000] };
        s.Labels.Add(new Label("thread", "main"));
        s.Labels.Add(Label.Numeric("bytes", 4096, "bytes"));
        s.Labels.Add(Label.Numeric("n", -3));
        p.Samples.Add(s);

        var bytes = PprofEncoder.Encode(p);
        var g = PprofPb.Profile.Parser.ParseFrom(GzipData.Inflate(bytes));
        string S(long i) => g.StringTable[(int)i];

        Assert.Equal("", g.StringTable[0]);
        Assert.Equal(["samples/count", "cpu/nanoseconds"], g.SampleType.Select(t => S(t.Type) + "/" + S(t.Unit)));
        Assert.Equal([1UL, 1UL], g.Sample[0].LocationId);
        Assert.Equal([1L, -10_000_000L], g.Sample[0].Value);
        Assert.Equal(["thread=main", "bytes=4096bytes", "n=-3"], g.Sample[0].Label.Select(x => S(x.Key) + "=" + (x.Str != 0 ? S(x.Str) : x.Num + S(x.NumUnit))));
        var m = g.Mapping.Single();
        Assert.Equal((1UL, 0x400000UL, 0x500000UL, 0x1000UL, "/bin/app", "abc123", true, true, true, true),
            (m.Id, m.MemoryStart, m.MemoryLimit, m.FileOffset, S(m.Filename), S(m.BuildId), m.HasFunctions, m.HasFilenames, m.HasLineNumbers, m.HasInlineFrames));
        var loc = g.Location.Single();
        Assert.Equal((1UL, 1UL, 0x401234UL, true), (loc.Id, loc.MappingId, loc.Address, loc.IsFolded));
        Assert.Equal([(2UL, 5L, 7L), (1UL, 12L, 3L)], loc.Line.Select(x => (x.FunctionId, x.Line_, x.Column)));
        Assert.Equal(["1 main.main main.main main.go 10", "2 inl _Z3inlv inl.h 3"], g.Function.Select(f => $"{f.Id} {S(f.Name)} {S(f.SystemName)} {S(f.Filename)} {f.StartLine}"));
        Assert.Equal(("runtime\\..*", "runtime\\.main"), (S(g.DropFrames), S(g.KeepFrames)));
        Assert.Equal((1_700_000_000_123_456_789L, 10_000_000_000L, 10_000_000L), (g.TimeNanos, g.DurationNanos, g.Period));
        Assert.Equal("cpu/nanoseconds", S(g.PeriodType.Type) + "/" + S(g.PeriodType.Unit));
        Assert.Equal(["first", "second"], g.Comment.Select(S));
        Assert.Equal(("cpu", "https://example.com/doc"), (S(g.DefaultSampleType), S(g.DocUrl)));

        Assert.Equal(ProfileDump.Text(p), ProfileDump.Text(PprofDecoder.DecodeProfile(bytes)));
    }

    private static string Resolve(PprofPb.Profile p)
    {
        string S(long i) => p.StringTable[(int)i];
        var copy = p.Clone();
        copy.StringTable.Clear();
        var strings = string.Join("|",
            p.SampleType.Select(t => S(t.Type) + "/" + S(t.Unit))
                .Concat(p.Sample.SelectMany(s => s.Label.Select(l => S(l.Key) + "=" + S(l.Str) + S(l.NumUnit))))
                .Concat(p.Mapping.Select(m => S(m.Filename) + "@" + S(m.BuildId)))
                .Concat(p.Function.Select(f => S(f.Name) + "/" + S(f.SystemName) + "/" + S(f.Filename)))
                .Concat(p.Comment.Select(S))
                .Concat([S(p.DropFrames), S(p.KeepFrames), S(p.DefaultSampleType), S(p.DocUrl), p.PeriodType is null ? "-" : S(p.PeriodType.Type) + "/" + S(p.PeriodType.Unit)]));

        // Blank out the indices themselves (compared through the strings above), keep every other field.
        foreach (var t in copy.SampleType)
        {
            t.Type = t.Unit = 0;
        }

        foreach (var l in copy.Sample.SelectMany(s => s.Label))
        {
            l.Key = l.Str = l.NumUnit = 0;
        }

        foreach (var m in copy.Mapping)
        {
            m.Filename = m.BuildId = 0;
        }

        foreach (var f in copy.Function)
        {
            f.Name = f.SystemName = f.Filename = 0;
        }

        copy.Comment.Clear();
        copy.DropFrames = copy.KeepFrames = copy.DefaultSampleType = copy.DocUrl = 0;
        if (copy.PeriodType is not null)
        {
            copy.PeriodType.Type = copy.PeriodType.Unit = 0;
        }

        return JsonFormatter.Default.Format(copy) + "\n" + strings;
    }
}
