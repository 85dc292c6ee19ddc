using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Protocol.Scrape.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// The "must hold": gzip bombs that inflate to 1 GiB, ten at a time on gRPC WriteRaw, on POST /ingest and
/// served by scrape targets (with honest size trailers and with trailers forged to just under the limit, which make
/// the server inflate as much as it allows) against the real <c>parca</c> executable. Every one is refused with a
/// precise error naming the flag, the server's peak RSS rises by less than 1 GB, and queries keep answering with the
/// exact totals they had before.
/// </summary>
public sealed class GzipBombTests
{
    private const long GiB = 1L << 30;
    private const int Limit = 64 << 20; // --grpc-max-message-size default: the per-request inflated budget

    private static readonly Lazy<byte[]> s_bomb = new(() => GzipData.Zeros(GiB, CompressionLevel.Optimal));
    private static readonly Lazy<byte[]> s_forged = new(() => WithTrailer(s_bomb.Value, Limit - 1));

    private static byte[] WithTrailer(byte[] gzip, uint size)
    {
        var copy = (byte[])gzip.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(copy.Length - 4), size);
        return copy;
    }

    private const string HonestRefusal = "profile: gzip inflates to 1073741824 bytes (size trailer), more than the limit of 67108864 bytes (--ingest-max-decompressed-bytes)";
    private const string ForgedRefusal = "profile: invalid gzip stream: inflates to more than the 67108863 bytes its size trailer declares";
    private const string BusyRefusal = "in-flight decode budget of 268435456 bytes";

    [Fact]
    public async Task Ten_concurrent_1_GiB_bombs_on_every_path_are_refused_with_bounded_memory_while_queries_answer()
    {
        Assert.True(s_bomb.Value.Length < 2 << 20, $"bomb is {s_bomb.Value.Length} bytes");
        await using var target = await BombTarget.StartAsync(s_bomb.Value, s_forged.Value);
        var dir = Directory.CreateTempSubdirectory("parca-bomb-");
        try
        {
            var config = Path.Combine(dir.FullName, "parca.yaml");
            var jobs = string.Concat(Enumerable.Range(0, 10).Select(i =>
                $"  - job_name: bomb{i}\n    scrape_interval: 5s\n    scrape_timeout: 15s\n    static_configs:\n      - targets: ['127.0.0.1:{target.Port}']\n"));
            await File.WriteAllTextAsync(config, $"object_storage:\n  bucket:\n    type: FILESYSTEM\n    config:\n      directory: \"{dir.FullName}\"\nscrape_configs:\n" + jobs);
            await using var parca = await ParcaProcess.StartAsync($"--config-path={config}", "--storage-retention=0");
            using var channel = RpcChannel.Create(parca.BaseAddress);
            using var http = new HttpClient { BaseAddress = new Uri(parca.BaseAddress) };

            // A real profile to query while the bombs land; its report is what queries must keep answering.
            var write = new WriteRawRequest();
            write.Series.Add(Series(File.ReadAllBytes(Path.Combine(RepoPaths.Root, "../shared/testdata/pprof/parca/profile1.pb.gz"))));
            await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, write);
            var before = await TopAsync(channel);
            var (baseline, _) = parca.Memory();
            target.Arm(); // until now the target answered 404: the baseline has seen no bomb

            using var stop = new CancellationTokenSource();
            var queries = Task.Run(async () =>
            {
                var answered = 0;
                while (!stop.IsCancellationRequested)
                {
                    Assert.Equal(before.ToString(), (await TopAsync(channel)).ToString());
                    answered++;
                }

                return answered;
            });

            var grpc = Enumerable.Range(0, 20).Select(i => GrpcBombAsync(channel, i % 2 == 0 ? s_bomb.Value : s_forged.Value)).ToArray();
            var ingest = Enumerable.Range(0, 20).Select(i => IngestBombAsync(http, i % 2 == 0 ? s_bomb.Value : s_forged.Value)).ToArray();
            var grpcRefusals = await Task.WhenAll(grpc);
            var ingestRefusals = await Task.WhenAll(ingest);
            var scrapeErrors = await ScrapeErrorsAsync(channel, target);
            await stop.CancelAsync();
            var answeredDuring = await queries;
            var (_, peak) = parca.Memory();

            foreach (var (i, (code, message)) in grpcRefusals.Index())
            {
                if (i % 2 == 0)
                {
                    Assert.Equal((StatusCode.ResourceExhausted, "series[0].samples[0].raw_profile: " + HonestRefusal), (code, message));
                }
                else
                {
                    Assert.True(
                        (code, message) == (StatusCode.InvalidArgument, "series[0].samples[0].raw_profile: " + ForgedRefusal) ||
                        (code == StatusCode.ResourceExhausted && message.Contains(BusyRefusal, StringComparison.Ordinal) && message.EndsWith("retry later (--ingest-max-inflight-bytes)", StringComparison.Ordinal)),
                        $"{code}: {message}");
                }
            }

            foreach (var (i, (status, body)) in ingestRefusals.Index())
            {
                if (i % 2 == 0)
                {
                    Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "series[0].samples[0].raw_profile: " + HonestRefusal + "\n"), (status, body));
                }
                else
                {
                    Assert.True(
                        (status, body) == (HttpStatusCode.BadRequest, "series[0].samples[0].raw_profile: " + ForgedRefusal + "\n") ||
                        (status == HttpStatusCode.RequestEntityTooLarge && body.Contains(BusyRefusal, StringComparison.Ordinal)),
                        $"{status}: {body}");
                }
            }

            Assert.Equal(10, scrapeErrors.Count);
            Assert.All(scrapeErrors, e => Assert.True(
                e == "refused pprof: " + HonestRefusal || e == "invalid pprof: " + ForgedRefusal || e.Contains(BusyRefusal, StringComparison.Ordinal),
                e));
            Assert.Contains(scrapeErrors, e => e == "refused pprof: " + HonestRefusal || e == "invalid pprof: " + ForgedRefusal);
            Assert.True(target.Served >= 10, $"target served {target.Served} bombs");

            Assert.True(answeredDuring > 0);
            Assert.Equal(before.ToString(), (await TopAsync(channel)).ToString());
            var rise = peak - baseline;
            Assert.True(rise < 1_000_000_000, $"peak RSS rose by {rise / (1 << 20)} MiB (baseline {baseline / (1 << 20)} MiB, peak {peak / (1 << 20)} MiB)");
            Console.WriteLine($"gzip bombs: baseline RSS {baseline / (1 << 20)} MiB, peak {peak / (1 << 20)} MiB, rise {rise / (1 << 20)} MiB; {answeredDuring} queries answered meanwhile");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static RawProfileSeries Series(byte[] pprof)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        series.Labels.Labels.Add(new Label { Name = "__name__", Value = "process_cpu" });
        series.Labels.Labels.Add(new Label { Name = "job", Value = "bombed" });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(pprof) });
        return series;
    }

    private static async Task<(StatusCode Code, string Message)> GrpcBombAsync(RpcChannel channel, byte[] bomb)
    {
        var request = new WriteRawRequest();
        request.Series.Add(Series(bomb));
        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request));
        return (e.Status, e.Detail);
    }

    private static async Task<(HttpStatusCode Status, string Body)> IngestBombAsync(HttpClient http, byte[] bomb)
    {
        using var content = new ByteArrayContent(bomb);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.PostAsync("/ingest?name=process_cpu&job=bombed", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Waits until each of the ten jobs' process_cpu target has failed a scrape, and returns those errors.</summary>
    private static async Task<List<string>> ScrapeErrorsAsync(RpcChannel channel, BombTarget target)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            var response = await channel.UnaryAsync(ParcaApi.Scrape.Targets, new TargetsRequest());
            var errors = response.Targets
                .SelectMany(t => t.Value.Targets_)
                .Where(t => t.DiscoveredLabels?.Labels.Any(l => l.Name == "__name__" && l.Value == "process_cpu") == true || t.Url.Contains("/debug/pprof/profile", StringComparison.Ordinal))
                .Select(t => t.LastError)
                .ToList();
            // Before the target was armed it answered 404: wait until every job has scraped a bomb since.
            if (errors.Count == 10 && errors.All(e => e.Length > 0 && !e.Contains("404", StringComparison.Ordinal)) && target.Served >= 10)
            {
                return errors;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the scrape targets never reported an error");
    }

    private static async Task<Top> TopAsync(RpcChannel channel)
    {
        var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = new MergeProfile
            {
                Query = "process_cpu:samples:count:cpu:nanoseconds:delta{job=\"bombed\"}",
                Start = new Timestamp(),
                End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddYears(10)),
            },
            ReportType = QueryRequest.Types.ReportType.Top,
        });
        return response.Top;
    }

    /// <summary>A hostile pprof endpoint: every path answers a bomb, honest and forged in turn.</summary>
    private sealed class BombTarget : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _served;
        private volatile bool _armed;

        private BombTarget(WebApplication app) => _app = app;

        public int Port { get; private set; }

        public int Served => Volatile.Read(ref _served);

        public void Arm() => _armed = true;

        public static async Task<BombTarget> StartAsync(byte[] honest, byte[] forged)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var target = new BombTarget(app);
            app.Run(async context =>
            {
                if (!target._armed)
                {
                    context.Response.StatusCode = 404;
                    return;
                }

                var n = Interlocked.Increment(ref target._served);
                context.Response.ContentType = "application/octet-stream";
                await context.Response.Body.WriteAsync(n % 2 == 0 ? honest : forged);
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            target.Port = new Uri(address).Port;
            return target;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
