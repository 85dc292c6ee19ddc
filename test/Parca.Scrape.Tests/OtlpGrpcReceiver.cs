using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Parca.Rpc;
using Parca.Rpc.Server;
using Parca.Scrape.Tests.Otlp;

namespace Parca.Scrape.Tests;

/// <summary>
/// A real OTLP/gRPC trace receiver: our own gRPC server (Kestrel + Parca.Rpc, h2c on 127.0.0.1) serving
/// <c>opentelemetry.proto.collector.trace.v1.TraceService/Export</c>, keeping every span it is sent.
/// </summary>
internal sealed class OtlpGrpcReceiver : IAsyncDisposable
{
    public static readonly RpcMethod<ExportTraceServiceRequest, ExportTraceServiceResponse> Export =
        new("opentelemetry.proto.collector.trace.v1.TraceService", "Export", MethodType.Unary);

    private readonly WebApplication _app;

    private OtlpGrpcReceiver(WebApplication app, ConcurrentQueue<ReceivedSpan> spans)
    {
        _app = app;
        Spans = spans;
    }

    public ConcurrentQueue<ReceivedSpan> Spans { get; }

    /// <summary><c>host:port</c>: the form of Parca's <c>--otlp-address</c>.</summary>
    public string Address { get; private set; } = "";

    public static async Task<OtlpGrpcReceiver> StartAsync()
    {
        var spans = new ConcurrentQueue<ReceivedSpan>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AllowAlternateSchemes = true;
            k.Listen(IPAddress.Loopback, 0, l => l.UseHttp2PrefaceDetection());
        });
        builder.Services.AddParcaRpc();
        builder.Services.AddRpcService(b => b.MapUnary(Export, (request, _) =>
        {
            foreach (var resource in request.ResourceSpans)
            {
                var service = Attributes(resource.Resource?.Attributes).GetValueOrDefault("service.name");
                foreach (var scope in resource.ScopeSpans)
                {
                    foreach (var span in scope.Spans)
                    {
                        spans.Enqueue(new ReceivedSpan(service, scope.Scope?.Name, span, Attributes(span.Attributes)));
                    }
                }
            }

            return ValueTask.FromResult(new ExportTraceServiceResponse());
        }));
        var app = builder.Build();
        app.UseParcaRpc();
        await app.StartAsync();
        return new OtlpGrpcReceiver(app, spans) { Address = $"127.0.0.1:{new Uri(app.Urls.First()).Port}" };
    }

    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue>? attributes)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in attributes ?? [])
        {
            result[kv.Key] = kv.Value?.ValueCase switch
            {
                AnyValue.ValueOneofCase.StringValue => kv.Value.StringValue,
                AnyValue.ValueOneofCase.IntValue => kv.Value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                AnyValue.ValueOneofCase.BoolValue => kv.Value.BoolValue ? "true" : "false",
                AnyValue.ValueOneofCase.DoubleValue => kv.Value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => "",
            };
        }

        return result;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

internal sealed record ReceivedSpan(string? Service, string? Scope, Span Span, Dictionary<string, string> Attributes)
{
    public override string ToString() =>
        $"{Scope}: {Span.Name} kind={Span.Kind} status={Span.Status?.Code} {{{string.Join(", ", Attributes.Select(a => $"{a.Key}={a.Value}"))}}}";
}
