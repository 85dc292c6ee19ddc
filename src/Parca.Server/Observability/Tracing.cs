using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Parca.Hosting;
using Parca.Scrape;

namespace Parca.Server.Observability;

/// <summary>
/// Traces of the server's own work, exported with OpenTelemetry's OTLP exporter to <c>--otlp-address</c>: every HTTP
/// and gRPC request (ASP.NET Core's <c>Microsoft.AspNetCore</c> activity source) and every scrape
/// (<see cref="ScrapeTracing"/>). Nothing is collected without the flag.
/// </summary>
public static class Tracing
{
    public static IServiceCollection AddParcaTracing(this IServiceCollection services, ParcaServerOptions options)
    {
        if (string.IsNullOrEmpty(options.OtlpAddress))
        {
            return services;
        }

        var (endpoint, protocol) = Endpoint(options.OtlpAddress);
        services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateDefault().AddService("parca", serviceVersion: ParcaVersion.Version))
            .AddSource("Microsoft.AspNetCore", ScrapeTracing.SourceName)
            .AddOtlpExporter(o =>
            {
                o.Endpoint = endpoint;
                o.Protocol = protocol;
            })
            .Build());
        services.AddHostedService<TracerProviderLifetime>();
        return services;
    }

    /// <summary>
    /// <c>host:port</c> (Parca's form) means OTLP/gRPC over cleartext; a URL ending in <c>/v1/traces</c> means
    /// OTLP/HTTP protobuf; any other URL OTLP/gRPC at that address.
    /// </summary>
    internal static (Uri Endpoint, OtlpExportProtocol Protocol) Endpoint(string address)
    {
        if (!address.Contains("://", StringComparison.Ordinal))
        {
            return (new Uri("http://" + address), OtlpExportProtocol.Grpc);
        }

        var uri = new Uri(address);
        return uri.AbsolutePath.EndsWith("/v1/traces", StringComparison.Ordinal) ? (uri, OtlpExportProtocol.HttpProtobuf) : (uri, OtlpExportProtocol.Grpc);
    }

    /// <summary>Creates the provider at start-up (so the first requests are traced) and flushes it at shutdown.</summary>
    private sealed class TracerProviderLifetime(TracerProvider provider) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken)
        {
            provider.ForceFlush(5000);
            return Task.CompletedTask;
        }
    }
}
