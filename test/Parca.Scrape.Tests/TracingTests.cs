using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Parca.Protocol.Query.V1Alpha1;

using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Scrape.Tests;

public sealed class TracingTests(GoTargetFixture go) : IClassFixture<GoTargetFixture>
{
    [Fact]
    public async Task Requests_and_scrapes_are_exported_as_otlp_traces()
    {
        // An OTLP/HTTP receiver: a plain Kestrel endpoint that keeps every export request body.
        var bodies = new ConcurrentQueue<(string ContentType, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var receiver = builder.Build();
        receiver.MapPost("/v1/traces", async (HttpContext http) =>
        {
            using var ms = new MemoryStream();
            await http.Request.Body.CopyToAsync(ms);
            bodies.Enqueue((http.Request.ContentType ?? "", ms.ToArray()));
            return Results.Ok();
        });
        await receiver.StartAsync();
        var endpoint = receiver.Urls.First() + "/v1/traces";

        var test = await TestServer.StartAsync(TestServer.Config(go.GoroutineJob("traced")), o => o.OtlpAddress = endpoint);
        await test.Writer.WaitForAsync(p => p.Name == "goroutine", TimeSpan.FromMinutes(1));
        using (var http = new HttpClient { BaseAddress = test.Server.BaseAddress })
        {
            (await http.GetAsync("healthz")).EnsureSuccessStatusCode();
        }

        // Spans are exported in batches (every 5 s) and at shutdown; wait for the request's span to arrive.
        using (var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            while (!bodies.Any(b => Encoding.UTF8.GetString(b.Body).Contains("/healthz", StringComparison.Ordinal)))
            {
                await Task.Delay(100, cts.Token);
            }
        }

        await test.DisposeAsync();

        Assert.NotEmpty(bodies);
        Assert.All(bodies, b => Assert.Equal("application/x-protobuf", b.ContentType));
        var text = string.Join("\n", bodies.Select(b => Encoding.UTF8.GetString(b.Body)));
        Assert.Contains("parca", text, StringComparison.Ordinal); // service.name
        Assert.Contains("Parca.Scrape", text, StringComparison.Ordinal); // instrumentation scope of scrape spans
        Assert.Contains($"http://{go.Address}/debug/pprof/goroutine", text, StringComparison.Ordinal);
        Assert.Contains("/healthz", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Otlp_grpc_export_to_a_grpc_receiver_carries_the_spans_of_query_service_calls()
    {
        // --otlp-address in Parca's host:port form: OTLP over gRPC (cleartext), OTLP's default protocol.
        await using var receiver = await OtlpGrpcReceiver.StartAsync();
        var test = await TestServer.StartAsync("", o => o.OtlpAddress = receiver.Address, realStorage: true);
        try
        {
            using var channel = RpcChannel.Create(test.Server.BaseAddress.GetLeftPart(UriPartial.Authority), new RpcChannelOptions { Insecure = true });
            await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
            var refused = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(ParcaApi.QueryService.Series, new SeriesRequest()));
            Assert.Equal(Parca.Rpc.StatusCode.Unimplemented, refused.Status); // as Parca answers Series

            // Spans are exported in batches (every 5 s) and at shutdown: wait for both calls' spans.
            const string ProfileTypes = "parca.query.v1alpha1.QueryService/ProfileTypes";
            const string Series = "parca.query.v1alpha1.QueryService/Series";
            using (var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
            {
                while (!(receiver.Spans.Any(s => s.Span.Name == ProfileTypes) && receiver.Spans.Any(s => s.Span.Name == Series)))
                {
                    await Task.Delay(100, cts.Token);
                }
            }

            var ok = Assert.Single(receiver.Spans, s => s.Span.Name == ProfileTypes);
            Assert.Equal("parca", ok.Service);
            Assert.Equal("Microsoft.AspNetCore", ok.Scope);
            Assert.Equal(Otlp.SpanKind.Server, ok.Span.Kind);
            Assert.Equal(16, ok.Span.TraceId.Length);
            Assert.Equal(8, ok.Span.SpanId.Length);
            Assert.True(ok.Span.EndTimeUnixNano >= ok.Span.StartTimeUnixNano);
            Assert.Equal(Otlp.StatusCode.Unset, ok.Span.Status?.Code ?? Otlp.StatusCode.Unset);
            Assert.Equal("grpc", ok.Attributes["rpc.system"]);
            Assert.Equal("parca.query.v1alpha1.QueryService", ok.Attributes["rpc.service"]);
            Assert.Equal("ProfileTypes", ok.Attributes["rpc.method"]);
            Assert.Equal("0", ok.Attributes["rpc.grpc.status_code"]);
            Assert.Equal("POST", ok.Attributes["http.request.method"]);
            Assert.Equal("/" + ProfileTypes, ok.Attributes["url.path"]);
            Assert.Equal("200", ok.Attributes["http.response.status_code"]);

            var failed = Assert.Single(receiver.Spans, s => s.Span.Name == Series);
            Assert.Equal("12", failed.Attributes["rpc.grpc.status_code"]); // UNIMPLEMENTED
            Assert.Equal(Otlp.StatusCode.Error, failed.Span.Status.Code);
            Assert.Contains("Series is not implemented", failed.Span.Status.Message, StringComparison.Ordinal);
        }
        finally
        {
            await test.DisposeAsync();
        }
    }
}
