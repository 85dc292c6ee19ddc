using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// A bounded soak of the real <c>parca</c> process: 16 writers and 4 query loops for 100 seconds over gRPC. Every
/// call succeeds, the merged total afterwards is exactly (acknowledged writes × one profile's total), and the
/// process's peak RSS (VmHWM) stays under the bound docs/configuration.md states for this load.
/// </summary>
public sealed class SoakTests
{
    private const long RssBound = 768L << 20;
    private static readonly TimeSpan s_duration = TimeSpan.FromSeconds(100);
    private static readonly byte[] s_profile = File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"));
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta";

    private static WriteRawRequest Write(string job)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
        series.Labels.Labels.Add(new Label { Name = "job", Value = job });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(s_profile) });
        var request = new WriteRawRequest();
        request.Series.Add(series);
        return request;
    }

    private static QueryRequest Merge(string selector) => new()
    {
        Mode = QueryRequest.Types.Mode.Merge,
        Merge = new MergeProfile
        {
            Query = CpuType + selector,
            Start = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddYears(40)),
            End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
        },
        ReportType = QueryRequest.Types.ReportType.Top,
    };

    [Fact]
    public async Task Writers_and_queries_for_100_seconds_keep_exact_totals_no_errors_and_bounded_memory()
    {
        await using var parca = await ParcaProcess.StartAsync("--storage-retention=0", "--log-level=warn", "--config-path=/nonexistent/parca.yaml");
        using var channel = GrpcChannels.Create($"127.0.0.1:{parca.Port}", new RpcChannelOptions { Insecure = true, MaxAttempts = 1 });
        var store = new ProfileStoreService.ProfileStoreServiceClient(channel);
        var query = new QueryService.QueryServiceClient(channel);

        await store.WriteRawAsync(Write("baseline"));
        var one = (await query.QueryAsync(Merge("{job=\"baseline\"}"))).Total;
        Assert.True(one > 0);

        long acknowledged = 1, writeErrors = 0, queries = 0, queryErrors = 0;
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var stop = Stopwatch.StartNew();
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var request = Write($"writer-{w % 8}");
            while (stop.Elapsed < s_duration)
            {
                try
                {
                    await store.WriteRawAsync(request);
                    Interlocked.Increment(ref acknowledged);
                }
                catch (Grpc.Core.RpcException e)
                {
                    Interlocked.Increment(ref writeErrors);
                    errors.Enqueue(e.Status.ToString());
                }

                await Task.Delay(5);
            }
        }));
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
        {
            while (stop.Elapsed < s_duration)
            {
                try
                {
                    if (r % 2 == 0)
                    {
                        _ = await query.QueryAsync(Merge(r == 0 ? "{}" : "{job=~\"writer-[0-3]\"}"));
                    }
                    else
                    {
                        _ = await query.QueryRangeAsync(new QueryRangeRequest
                        {
                            Query = CpuType + "{}",
                            Start = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddYears(40)),
                            End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
                            Step = Duration.FromTimeSpan(TimeSpan.FromDays(1)),
                            SumBy = { "job" },
                        });
                    }

                    Interlocked.Increment(ref queries);
                }
                catch (Grpc.Core.RpcException e)
                {
                    Interlocked.Increment(ref queryErrors);
                    errors.Enqueue(e.Status.ToString());
                }

                await Task.Delay(50);
            }
        }));
        await Task.WhenAll([.. writers, .. readers]);

        Assert.True(writeErrors == 0 && queryErrors == 0, $"{writeErrors} write and {queryErrors} query errors: {string.Join("; ", errors.Take(5))}");
        Assert.True(acknowledged > 1000 && queries > 100, $"only {acknowledged} writes and {queries} queries ran");
        Assert.Equal(acknowledged * one, (await query.QueryAsync(Merge("{}"))).Total);
        var (rss, peak) = parca.Memory();
        Assert.True(peak < RssBound, $"peak RSS {peak >> 20} MiB (now {rss >> 20} MiB) after {acknowledged} writes and {queries} queries; the stated bound is {RssBound >> 20} MiB");
        Console.WriteLine($"soak: {acknowledged} writes, {queries} queries, peak RSS {peak >> 20} MiB, RSS {rss >> 20} MiB");
    }
}
