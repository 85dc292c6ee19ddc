using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Storage;
using Parca.Storage.Ingest;
using static Parca.Query.Tests.Fixtures;
using QueryService = Parca.Server.Services.QueryService;

namespace Parca.Query.Tests;

/// <summary>
/// QueryRange's hand-written wire encoder (QueryService.RangeEncoder) against the generated message path: the same
/// bytes as Google.Protobuf's serializer, and the generated parser reads them back to the same message.
/// </summary>
public sealed class QueryRangeEncoderTests : IDisposable
{
    private readonly ProfileStore _store = Store();
    private readonly QueryEngine _engine;

    public QueryRangeEncoderTests()
    {
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "1")), Cpu(10 * Second, ("main;work", 3), ("main;work;leaf", 2)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "1")), Cpu(20 * Second, ("main;work", 1)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "zwölf-ü")), Cpu(10 * Second, ("main;gc", 4)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "zwölf-ü")), Cpu(50 * Second, ("main;gc", 400_000)));
        _store.Append("process_cpu", LabelSet.From(("job", "db")), Cpu(15 * Second, ("main;query", 5)));
        foreach (var (t, v) in new[] { (10L, 100L), (12L, 50L), (31L, 70L), (33L, 1L << 40) })
        {
            var b = new IngestBuilder(("inuse_space", "bytes")) { PeriodType = ("space", "bytes"), Period = 524288, TimeNanos = (t * Second) + 123 };
            b.Sample("main;alloc", v);
            _store.Append("memory", LabelSet.From(("job", "api"), ("instance", t < 30 ? "a" : "b")), b.Build());
        }

        _engine = new QueryEngine(_store);
    }

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData(CpuSamples + "{job=\"api\"}", 10, "instance")] // delta, sum_by, gaps (no point at 30 s / 40 s)
    [InlineData(CpuSamples + "{job=\"api\"}", 10, null)] // delta, one series without labels
    [InlineData(CpuNanos + "{job=~\".+\"}", 20, "job")] // delta, several timestamps per step
    [InlineData(CpuNanos + "{}", 1, "job,instance")] // 1 s steps: mostly gaps, empty label values dropped
    [InlineData("memory:inuse_space:bytes:space:bytes{job=\"api\"}", 10, null)] // non-delta: points keep their own time
    [InlineData("memory:inuse_space:bytes:space:bytes{job=\"api\"}", 5, "instance")] // non-delta, sum_by, large values
    public void Encoded_bytes_equal_the_generated_serializer(string query, int stepSeconds, string? sumBy)
    {
        var request = new QueryRangeRequest
        {
            Query = query,
            Start = new Timestamp(),
            End = new Timestamp { Seconds = 60 },
            Step = Duration.FromTimeSpan(TimeSpan.FromSeconds(stepSeconds)),
        };
        if (sumBy is not null)
        {
            request.SumBy.AddRange(sumBy.Split(','));
        }

        AssertSame(request);
    }

    [Fact]
    public void Large_parallel_response_is_identical_too()
    {
        using var store = Store();
        for (var k = 0; k < 30_000; k++)
        {
            for (var s = 0; s < 4; s++)
            {
                if ((k + s) % 7 != 0)
                {
                    store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", s.ToString(System.Globalization.CultureInfo.InvariantCulture))), Cpu(k * 10 * Second, ("main;work", (k % 13) + s)));
                }
            }
        }

        var engine = new QueryEngine(store);
        var request = new QueryRangeRequest
        {
            Query = CpuSamples + "{job=\"api\"}",
            Start = new Timestamp(),
            End = new Timestamp { Seconds = 30_000 * 10 },
            Step = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            SumBy = { "instance" },
        };
        var points = AssertSame(request, engine);
        Assert.True(points > 100_000, $"{points} points: the parallel path needs >= 100,000");
    }

    private int AssertSame(QueryRangeRequest request, QueryEngine? engine = null)
    {
        engine ??= _engine;
        var message = QueryService.QueryRange(engine, request);
        using var encoded = QueryService.QueryRangeEncoded(engine, request);
        Assert.Equal(message.ToByteArray(), encoded.Bytes.ToArray());
        var parsed = QueryRangeResponse.Parser.ParseFrom(encoded.Bytes.Span);
        Assert.Equal(message, parsed);
        Assert.Equal(message, encoded.ToMessage());
        Assert.NotEmpty(parsed.Series);
        return parsed.Series.Sum(s => s.Samples.Count);
    }
}
