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
/// A QueryRange response large enough for the service's parallel build and shared step timestamps: 3 series,
/// 40,000 steps each, part compacted into a block and part in the head, with gaps; every point checked.
/// </summary>
public sealed class QueryRangeLargeTests
{
    private const int Steps = 40_000;

    [Fact]
    public async Task Large_response_has_every_point_of_every_series()
    {
        using var store = Store();
        var profiles = new IngestProfile[5];
        for (var v = 0; v < profiles.Length; v++)
        {
            var b = new IngestBuilder(("samples", "count")) { Period = Period, DurationNanos = 10 * Second };
            b.Sample("main;work", v + 1);
            profiles[v] = b.Build();
        }

        for (var k = 0; k < Steps; k++)
        {
            if (k == Steps / 2)
            {
                await store.FlushAsync(); // the first half from a block, the rest from the head
            }

            for (var s = 0; s < 3; s++)
            {
                if ((k + s) % 11 == 0)
                {
                    continue; // gaps differ per series
                }

                var p = profiles[(k + s) % 5];
                p.TimeNanos = k * 10 * Second;
                store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", s.ToString(System.Globalization.CultureInfo.InvariantCulture))), p);
            }
        }

        var request = new QueryRangeRequest
        {
            Query = "process_cpu:samples:count:cpu:nanoseconds:delta{job=\"api\"}",
            Start = new Timestamp(),
            End = new Timestamp { Seconds = (Steps - 1) * 10L },
            Step = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)),
            SumBy = { "instance" },
        };
        var response = QueryService.QueryRange(new QueryEngine(store), request);

        Assert.Equal(["0", "1", "2"], response.Series.Select(m => m.Labelset.Labels.Single().Value).ToArray());
        for (var s = 0; s < 3; s++)
        {
            var samples = response.Series[s].Samples;
            var i = 0;
            for (var k = 0; k < Steps; k++)
            {
                if ((k + s) % 11 == 0)
                {
                    continue;
                }

                var p = samples[i++];
                var value = (((k + s) % 5) + 1) * Period;
                Assert.Equal(k * 10L, p.Timestamp.Seconds);
                Assert.Equal(0, p.Timestamp.Nanos);
                Assert.Equal(value, p.Value);
                Assert.Equal((double)value / (10 * Second), p.ValuePerSecond, 12); // nanoseconds per second of wall time: cores
                Assert.Equal(10 * Second, p.Duration);
                Assert.Equal(1, p.Count);
            }

            Assert.Equal(i, samples.Count);
        }

        // The wire form parses back to the same response.
        Assert.Equal(response, QueryRangeResponse.Parser.ParseFrom(response.ToByteArray()));
    }
}
