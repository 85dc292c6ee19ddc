using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parca.Pprof;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;
using ReportType = Parca.Protocol.Query.V1Alpha1.QueryRequest.Types.ReportType;

namespace Parca.Server.Services;

/// <summary>
/// Right after start, answers each report type the UI asks for once over a synthetic profile in a throwaway in-memory
/// store (never the user's data), on a background thread. The first query of a fresh process otherwise pays for
/// compiling the whole merge and report path (the ingest, merge, table, Arrow and protobuf code, including the
/// parallel paths of large results): in the browser test that was most of the first click's 0.7–1 s on a large
/// profile. The profile is large enough (≈ 80k call-tree nodes) to take the same code paths as a real one; the
/// warm-up costs a fraction of a CPU-second once and its memory is released when it ends.
/// </summary>
internal static class QueryWarmup
{
    private const int Stacks = 4_000;
    private const int Functions = 600;

    private static readonly ReportType[] s_types =
        [ReportType.FlamegraphArrow, ReportType.TableArrow, ReportType.Top, ReportType.FlamegraphTable, ReportType.Callgraph, ReportType.Pprof];

    public static void Start(ParcaServerOptions options, ReportLimits limits, ILogger log) =>
        _ = Task.Run(() =>
        {
            try
            {
                var (elapsed, _) = Run(options, limits);
                ServerLog.QueryWarmupDone(log, elapsed.TotalMilliseconds);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Only the first query's speed depends on it: say so and carry on.
                ServerLog.QueryWarmupFailed(log, e.Message);
            }
        });

    /// <summary>Runs the warm-up; returns how long it took and the total the reports saw (the synthetic profile's).</summary>
    internal static (TimeSpan Elapsed, long Total) Run(ParcaServerOptions options, ReportLimits limits)
    {
        long total = 0;
        var clock = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        using var store = new ProfileStore(new StorageOptions { Retention = TimeSpan.Zero });
        new ProfileWriter(store).Write([new WriteSeries([new("__name__", "warmup"), new("job", "warmup")], [new WriteSample(PprofEncoder.Encode(Synthetic(now)), null)])]);
        var handler = new QueryService(new QueryEngine(store), options, limits);
        foreach (var type in s_types)
        {
            var request = new QueryRequest
            {
                Mode = QueryRequest.Types.Mode.Merge,
                Merge = new MergeProfile { Query = "warmup:samples:count:cpu:nanoseconds:delta{job=\"warmup\"}", Start = QueryService.ToTimestamp(now - 1), End = QueryService.ToTimestamp(now + 1) },
                ReportType = type,
            };
            using var encoded = handler.ExecuteEncoded(request);
            _ = encoded.Bytes.Length; // the message answers serialize here, as the transport would
            total = encoded.Message?.Total ?? total;
        }

        return (clock.Elapsed, total);
    }

    /// <summary>Random stacks 8–40 frames deep over a pool of functions, each sharing a prefix with an earlier one.</summary>
    private static Profile Synthetic(long timeNanos)
    {
        var rng = new Random(7);
        var p = new Profile { TimeNanos = timeNanos, DurationNanos = 10_000_000_000, PeriodType = new PprofValueType("cpu", "nanoseconds"), Period = 10_000_000 };
        p.SampleTypes.Add(new PprofValueType("samples", "count"));
        p.SampleTypes.Add(new PprofValueType("cpu", "nanoseconds"));
        p.Mappings.Add(new Mapping { Id = 1, MemoryStart = 0x400000, MemoryLimit = 0x4000000, Filename = "/usr/bin/warmup", BuildId = "0", HasFunctions = true });
        for (var f = 1; f <= Functions; f++)
        {
            p.Functions.Add(new Function { Id = (ulong)f, Name = $"warmup::f{f}", SystemName = $"f{f}", Filename = "warmup.cc", StartLine = f });
            var location = new Location { Id = (ulong)f, MappingId = 1, Address = 0x400000 + ((ulong)f * 64) };
            location.Lines.Add(new Line((ulong)f, f));
            p.Locations.Add(location);
        }

        var previous = new List<ulong>();
        for (var s = 0; s < Stacks; s++)
        {
            var depth = rng.Next(8, 41);
            var stack = new ulong[depth];
            var shared = previous.Count == 0 ? 0 : rng.Next(0, Math.Min(depth, previous.Count));
            for (var i = 0; i < depth; i++)
            {
                stack[i] = i < shared ? previous[i] : (ulong)rng.Next(1, Functions + 1);
            }

            previous = [.. stack];
            Array.Reverse(stack); // leaf first
            var count = rng.Next(1, 20);
            p.Samples.Add(new Sample { LocationIds = stack, Values = [count, count * 10_000_000L] });
        }

        return p;
    }
}
