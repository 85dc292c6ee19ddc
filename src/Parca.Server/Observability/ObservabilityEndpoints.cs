using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Parca.Hosting.Metrics;

namespace Parca.Server.Observability;

public static class ObservabilityEndpoints
{
    /// <summary>Registers the <c>/metrics</c> exporter and the request instruments.</summary>
    public static IServiceCollection AddParcaObservability(this IServiceCollection services)
    {
        services.AddMetrics();
        // This server's meters (created through its IMeterFactory, named Parca.*) and the runtime's.
        services.TryAddSingleton(static sp =>
        {
            var factory = sp.GetRequiredService<IMeterFactory>();
            return new PrometheusExporter(meter => meter.Name == ParcaMeters.Runtime
                || (meter.Name.StartsWith(ParcaMeters.Prefix, StringComparison.Ordinal) && ReferenceEquals(meter.Scope, factory)));
        });
        services.TryAddSingleton<RequestMetrics>();
        return services;
    }

    /// <summary>Counts and times every request (route pattern or gRPC method, status code).</summary>
    public static IApplicationBuilder UseParcaRequestMetrics(this IApplicationBuilder app)
    {
        var metrics = app.ApplicationServices.GetRequiredService<RequestMetrics>();

        // Start listening now: measurements made before the first /metrics request must count.
        _ = app.ApplicationServices.GetRequiredService<PrometheusExporter>();
        return app.Use(async (context, next) =>
        {
            var start = Stopwatch.GetTimestamp();
            var query = metrics.QueryStarted(context);
            try
            {
                await next(context);
            }
            finally
            {
                metrics.QueryEnded(context, query);
                var route = metrics.Record(context, Stopwatch.GetElapsedTime(start));

                // ASP.NET Core's request activity carries no HTTP details without an instrumentation package: add the
                // OpenTelemetry semantic-convention ones so exported traces say what the request was.
                if (Activity.Current is { Source.Name: "Microsoft.AspNetCore" } activity)
                {
                    activity.DisplayName = $"{context.Request.Method} {route}";
                    activity.SetTag("http.request.method", context.Request.Method);
                    activity.SetTag("http.route", route);
                    activity.SetTag("url.path", context.Request.Path.Value);
                    activity.SetTag("http.response.status_code", context.Response.StatusCode);
                    RpcSpan.Describe(activity, context);
                }
            }
        });
    }

    /// <summary>Maps <c>GET /metrics</c> (Prometheus text format 0.0.4).</summary>
    public static IEndpointRouteBuilder MapParcaMetrics(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/metrics", static async (HttpContext context, PrometheusExporter exporter) =>
        {
            // Rendered straight into the response pipe: no string of the whole page.
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            exporter.WriteTo(context.Response.BodyWriter);
            await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        });
        return routes;
    }
}

/// <summary>Instruments on <see cref="ParcaMeters.Server"/> for the requests the server answers.</summary>
public sealed class RequestMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _queriesCancelled;
    private long _queriesInFlight;

    public RequestMetrics(IMeterFactory factory)
    {
        _meter = factory.Create(ParcaMeters.Server);
        _meter.CreateObservableGauge("parca_query_in_flight", () => Interlocked.Read(ref _queriesInFlight), null, "QueryService calls (any protocol) being answered now.");
        _queriesCancelled = _meter.CreateCounter<long>("parca_query_cancelled_total", null, "QueryService calls whose client went away or whose deadline passed before the answer (the work stops with them).");
        _requests = _meter.CreateCounter<long>("parca_http_requests_total", null, "Requests answered, by route (or gRPC method) and status code.");
        _duration = _meter.CreateHistogram<double>("parca_http_request_duration_seconds", "s", "Time to answer a request, by route (or gRPC method); query latencies are the QueryService routes.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
    }

    /// <summary>True (and counted in flight) for QueryService calls, over gRPC, gRPC-Web and Connect alike.</summary>
    internal bool QueryStarted(HttpContext context)
    {
        if (context.Request.Path.Value?.Contains("/parca.query.v1alpha1.QueryService/", StringComparison.Ordinal) != true)
        {
            return false;
        }

        Interlocked.Increment(ref _queriesInFlight);
        return true;
    }

    internal void QueryEnded(HttpContext context, bool query)
    {
        if (!query)
        {
            return;
        }

        Interlocked.Decrement(ref _queriesInFlight);
        if (context.RequestAborted.IsCancellationRequested || GrpcStatus(context) is "1" or "4")
        {
            _queriesCancelled.Add(1);
        }
    }

    internal string Record(HttpContext context, TimeSpan elapsed)
    {
        var route = Route(context);
        var code = context.Response.StatusCode;
        _requests.Add(1, new KeyValuePair<string, object?>("route", route), new KeyValuePair<string, object?>("code", code));
        _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("route", route));
        return route;
    }

    /// <summary>
    /// A bounded label: the endpoint's route pattern, the gRPC method path, or "other" (static files, 404s). A gRPC
    /// path counts only when the call was not answered UNIMPLEMENTED, and at most <see cref="MaxGrpcMethods"/> paths
    /// are kept, so made-up method names cannot grow the metric's label set.
    /// </summary>
    private string Route(HttpContext context)
    {
        if (context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern })
        {
            return pattern;
        }

        var contentType = context.Request.ContentType;
        if (contentType is not null && contentType.StartsWith("application/grpc", StringComparison.Ordinal) && context.Request.Path.Value is { } path
            && path.Count(c => c == '/') == 2 && path.Length < 200)
        {
            if (GrpcStatus(context) == "12")
            {
                return "unknown_grpc_method";
            }

            if (_grpcMethods.TryGetValue(path, out var known))
            {
                return known;
            }

            return _grpcMethods.Count < MaxGrpcMethods ? _grpcMethods.GetOrAdd(path, path) : "other";
        }

        return "other";
    }

    private const int MaxGrpcMethods = 128;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _grpcMethods = new(StringComparer.Ordinal);

    /// <summary>The grpc-status of the answer, from the trailers or (trailers-only answers) the headers.</summary>
    private static string? GrpcStatus(HttpContext context)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseTrailersFeature>()?.Trailers is { } trailers &&
            trailers.TryGetValue("grpc-status", out var fromTrailers))
        {
            return fromTrailers.ToString();
        }

        return context.Response.Headers.TryGetValue("grpc-status", out var fromHeaders) ? fromHeaders.ToString() : null;
    }

    public void Dispose() => _meter.Dispose();
}
