using Google.Protobuf;
using Parca.Ingest;
using Parca.LoadGen;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;
using Parca.Storage.Ingest;
using static Parca.Query.Tests.Fixtures;

namespace Parca.Query.Tests;

/// <summary>
/// TOP is sent as bytes written straight from the table; they must be exactly the bytes of the QueryResponse message
/// the report builds (which the JSON paths and older callers use), whole or cut at the message limit, for plain and
/// diff profiles, functions with and without mappings, names and line numbers.
/// </summary>
public sealed class TopEncoderTests : IDisposable
{
    private readonly ProfileStore _store = Store();
    private readonly QueryEngine _engine;

    public TopEncoderTests()
    {
        _engine = new QueryEngine(_store);
    }

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData(64 * 1024 * 1024)]
    [InlineData(96 * 1024)] // cut: a trim reason and a trimmed value
    public void Encoded_top_equals_the_serialized_message(int maxMessageBytes)
    {
        const long t = 1_700_000_000_000_000_000;
        var profile = Parca.Pprof.PprofEncoder.Encode(LargeProfile.Generate(20_000, functions: 2_000, timeNanos: t));
        new ProfileWriter(_store).Write([new WriteSeries([new("__name__", "cpu")], [new WriteSample(profile, null)])]);
        var r = _engine.Query(ProfileSelection.Merge("cpu:samples:count:cpu:nanoseconds:delta{}", t - 1, t + 1));
        var limits = new ReportLimits(1L << 30, maxMessageBytes);
        var message = ReportPipeline.Build(QueryRequest.Types.ReportType.Top, r, 0, limits);
        Assert.Equal(message.Top.TrimReason.Length != 0, maxMessageBytes < 1 << 20);
        Assert.Equal(message.ToByteArray(), ReportPipeline.TryEncode(QueryRequest.Types.ReportType.Top, new ReportData(r), 0, limits));
    }

    [Fact]
    public void Encoded_diff_top_with_unmapped_unnamed_and_numbered_frames_equals_the_serialized_message()
    {
        _store.Append("cpu", LabelSet.From(("job", "x")), Profile(10 * Second, 3));
        _store.Append("cpu", LabelSet.From(("job", "x")), Profile(30 * Second, 1));
        const string query = "cpu:samples:count:cpu:nanoseconds:delta";
        var r = _engine.Diff(ProfileSelection.Merge(query, 0, 20 * Second), ProfileSelection.Merge(query, 20 * Second, 40 * Second), absolute: false);
        var message = ReportPipeline.Build(QueryRequest.Types.ReportType.Top, r, 0, ReportLimits.Default);
        Assert.Contains(message.Top.List, n => n.Diff < 0);
        Assert.Contains(message.Top.List, n => n.Meta.Mapping is null);
        Assert.Contains(message.Top.List, n => n.Meta.Function is null);
        Assert.Equal(message.ToByteArray(), ReportPipeline.TryEncode(QueryRequest.Types.ReportType.Top, new ReportData(r), 0, ReportLimits.Default));
    }

    [Fact]
    public void Only_top_has_a_direct_encoder()
    {
        _store.Append("cpu", LabelSet.From(("job", "x")), Profile(10 * Second, 1));
        var r = _engine.Query(ProfileSelection.Merge("cpu:samples:count:cpu:nanoseconds:delta", 0, 20 * Second));
        Assert.Null(ReportPipeline.TryEncode(QueryRequest.Types.ReportType.TableArrow, new ReportData(r), 0, ReportLimits.Default));
        var e = Assert.Throws<QueryException>(() => ReportPipeline.TryEncode(QueryRequest.Types.ReportType.Top, new ReportData(r), 120, ReportLimits.Default));
        Assert.Equal(QueryErrorKind.InvalidArgument, e.Kind);
    }

    /// <summary>
    /// Named frames in a mapping with line numbers, a frame without a mapping, an unsymbolized address, an inlined
    /// pair; <paramref name="scale"/> changes the values between the two sides of the diff.
    /// </summary>
    private static IngestProfile Profile(long time, int scale)
    {
        var b = new IngestBuilder(("samples", "count"), ("cpu", "nanoseconds")) { TimeNanos = time, DurationNanos = 10 * Second, Period = Period };
        var mapping = b.Mapping("/usr/bin/app", 0x400000, 0x500000, 0x1000, "b1d");
        var main = b.Location("main", mapping, 0x401000, "main.c", 12);
        var work = b.Location("work", mapping, 0x402000, "work.c", 130);
        var free = b.Location("free_standing");
        var raw = b.InlinedLocation(mapping, 0x403000);
        var inl = b.InlinedLocation(mapping, 0x404000, "inner", "outer");
        b.Sample([work, main], [5 * scale, 5 * scale * Period], null);
        b.Sample([free, main], [3, 3 * Period], null);
        b.Sample([raw, work, main], [2 * scale, 2 * scale * Period], null);
        b.Sample([inl, main], [7, 7 * Period], null);
        return b.Build();
    }
}
