using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Parca.Server.SelfProfiling;

/// <summary>
/// Go-style <c>/debug/pprof/*</c> endpoints serving the server's own profiles (gzipped pprof), so the default
/// parca.yaml can scrape the server like any Go service:
/// <list type="bullet">
/// <item><c>profile?seconds=N</c> (default 30): CPU, <c>process_cpu:samples:count:cpu:nanoseconds:delta</c>; the
/// sampler runs for a tenth of the window and the samples are scaled to the whole window (<see cref="SelfProfiler.CpuAsync"/>).</item>
/// <item><c>allocs?seconds=N</c> (default 5): allocated bytes over the window, sampled by GC allocation ticks.</item>
/// <item><c>mutex?seconds=N</c> (default 5): lock contention (count, delay) over the window, sampled per
/// <c>--mutex-profile-fraction</c> (0, the default, serves an empty profile as Go does).</item>
/// <item><c>block?seconds=N</c> (default 5): blocking waits (count, delay) over the window, sampled per
/// <c>--block-profile-rate</c> (0, the default, serves an empty profile as Go does).</item>
/// <item><c>goroutine</c>: one sample per managed thread with its current stack.</item>
/// <item><c>heap</c>: 404 with the reason (no .NET equivalent without a heap dump).</item>
/// </list>
/// </summary>
public static class SelfProfilingEndpoints
{
    private const int MaxSeconds = 300;

    public static IServiceCollection AddParcaSelfProfiling(this IServiceCollection services)
    {
        services.TryAddSingleton<SelfProfiler>();
        services.TryAddSingleton<SelfProfilingLimiter>();
        return services;
    }

    public static IEndpointRouteBuilder MapParcaPprof(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/debug/pprof/", static () => Results.Text(
            "Profiles of this parca server (gzipped pprof):\n"
            + "  /debug/pprof/profile?seconds=N  CPU (EventPipe sample profiler, managed code; a tenth of the window sampled)\n"
            + "  /debug/pprof/allocs?seconds=N   allocated bytes (GC allocation ticks)\n"
            + "  /debug/pprof/mutex?seconds=N    lock contention (--mutex-profile-fraction)\n"
            + "  /debug/pprof/block?seconds=N    blocking waits (--block-profile-rate)\n"
            + "  /debug/pprof/goroutine          stacks of all managed threads\n"));
        routes.MapGet("/debug/pprof/profile", static (HttpContext http, SelfProfilingLimiter limiter) =>
            Serve(http, limiter, 30, static (seconds, ct) => SelfProfiler.CpuAsync(seconds, ct), "cpu"));
        routes.MapGet("/debug/pprof/allocs", static (HttpContext http, SelfProfilingLimiter limiter) =>
            Serve(http, limiter, 5, static (seconds, ct) => SelfProfiler.AllocationsAsync(seconds, ct), "allocs"));
        routes.MapGet("/debug/pprof/mutex", static (HttpContext http, SelfProfilingLimiter limiter, ParcaServerOptions options) =>
            Serve(http, limiter, 5, (seconds, ct) => SelfProfiler.ContentionAsync(seconds, options.MutexProfileFraction, ct), "mutex"));
        routes.MapGet("/debug/pprof/block", static (HttpContext http, SelfProfilingLimiter limiter, ParcaServerOptions options) =>
            Serve(http, limiter, 5, (seconds, ct) => SelfProfiler.BlockAsync(seconds, options.BlockProfileRate, ct), "block"));
        routes.MapGet("/debug/pprof/goroutine", static (HttpContext http, SelfProfilingLimiter limiter, SelfProfiler profiler) =>
            Serve(http, limiter, 0, (_, ct) => profiler.ThreadsAsync(ct), "goroutine"));
        routes.MapGet("/debug/pprof/heap", static () => Results.Text(
            "heap profile not available: the .NET runtime offers no sampled live-heap profile without a heap dump; use /debug/pprof/allocs\n",
            statusCode: StatusCodes.Status404NotFound));
        return routes;
    }

    private static async Task<IResult> Serve(HttpContext http, SelfProfilingLimiter limiter, int defaultSeconds, Func<TimeSpan, CancellationToken, Task<byte[]>> produce, string name)
    {
        var seconds = defaultSeconds;
        if (defaultSeconds > 0 && http.Request.Query.TryGetValue("seconds", out var text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) || seconds < 1 || seconds > MaxSeconds)
            {
                return Results.Text($"invalid seconds parameter '{text}': must be an integer from 1 to {MaxSeconds}\n", statusCode: StatusCodes.Status400BadRequest);
            }
        }

        if (!limiter.TryEnter())
        {
            return Results.Text($"too many concurrent self-profiling requests (at most {SelfProfilingLimiter.MaxConcurrent})\n", statusCode: StatusCodes.Status429TooManyRequests);
        }

        try
        {
            var profile = await produce(TimeSpan.FromSeconds(seconds), http.RequestAborted);
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{name}\"";
            return Results.Bytes(profile, "application/octet-stream");
        }
        finally
        {
            limiter.Exit();
        }
    }
}

/// <summary>Bounds the EventPipe sessions running at once (each costs a session, its buffers and a reading thread).</summary>
internal sealed class SelfProfilingLimiter
{
    public const int MaxConcurrent = 4;

    private int _running;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _running) <= MaxConcurrent)
        {
            return true;
        }

        Interlocked.Decrement(ref _running);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _running);
}
