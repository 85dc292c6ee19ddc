using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Parca.Agent.Labels;
using Parca.Agent.Profiling;
using Parca.Hosting;

namespace Parca.Agent;

public sealed partial class ParcaAgent
{
    /// <summary>
    /// Endpoints are plain <see cref="RequestDelegate"/>s: minimal-API handlers with parameters or IResult returns are
    /// compiled from expression trees at start-up, which cost the agent about 2.5 MB of System.Linq.Expressions and
    /// several MB of JIT code for six small pages.
    /// </summary>
    private void MapEndpoints(WebApplication app)
    {
        const string text = "text/plain; charset=utf-8";
        const string html = "text/html; charset=utf-8";
        app.MapGet("/healthy", (RequestDelegate)(c => _ready && _watchdog.Stall() is { } stall ? Write(c, 503, text, stall + "\n") : Write(c, 200, text, "ok\n")));
        app.MapGet("/ready", (RequestDelegate)(c => _ready ? Write(c, 200, text, "ok\n") : Write(c, 503, text, "not ready: the BPF sampler is not running\n")));
        app.MapGet("/metrics", (RequestDelegate)(c => Write(c, 200, "text/plain; version=0.0.4; charset=utf-8", Metrics.Render())));
        app.MapGet("/", (RequestDelegate)(c => Write(c, 200, html, StatusPage())));
        app.MapGet("/profiles/{id}", (RequestDelegate)(c =>
        {
            var id = c.Request.RouteValues["id"] as string ?? "";
            var series = _latest.Snapshot().FirstOrDefault(s => ProfileId(s) == id);
            return series is null
                ? Write(c, 404, text, $"no current profile with id {id} (profiles age out after three windows)\n")
                : WriteProfile(c, series.PprofGzip, $"{ProfileId(series)}.pb.gz");
        }));
        app.MapGet("/debug/pprof/", (RequestDelegate)(c => Write(c, 200, html,
            "<html><body><h1>parca-agent pprof</h1><ul><li><a href=\"profile\">profile</a>: CPU profile of the agent itself from its own BPF samples (latest window)</li></ul></body></html>")));
        app.MapGet("/debug/pprof/profile", (RequestDelegate)(c =>
        {
            var self = Environment.ProcessId;
            var series = _latest.Snapshot().FirstOrDefault(s => s.Pids.Contains(self));
            return series is null
                ? Write(c, 404, text, "no profile of the agent itself yet: wait one --profiling-duration (or a relabel rule drops it)\n")
                : WriteProfile(c, series.PprofGzip, "profile.pb.gz");
        }));
    }

    private static Task Write(HttpContext context, int status, string contentType, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        return context.Response.WriteAsync(body);
    }

    private static Task WriteProfile(HttpContext context, byte[] gzip, string fileName)
    {
        context.Response.ContentType = "application/octet-stream";
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
        context.Response.ContentLength = gzip.Length;
        return context.Response.Body.WriteAsync(gzip).AsTask();
    }

    /// <summary>A short stable id of a label set for download links.</summary>
    internal static string ProfileId(ProfileSeries series) =>
        StackHash.HexId(LabelSetBuilder.Format(series.Labels), 16);

    private string StatusPage()
    {
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>parca-agent</title>")
          .Append("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}code{font-size:90%}</style>")
          .Append("</head><body>")
          .Append("<h1>parca-agent ").Append(WebUtility.HtmlEncode(ParcaVersion.Version)).Append("</h1>")
          .Append("<p>Node <b>").Append(WebUtility.HtmlEncode(Options.Node)).Append("</b>, sampling at ")
          .Append(Options.ProfilingCpuSamplingFrequency).Append(" Hz, profiles every ").Append(Options.ProfilingDuration.TotalSeconds).Append(" s. ")
          .Append("<a href=\"/metrics\">metrics</a></p>")
          .Append("<h2>Profiled processes (latest window)</h2><table><tr><th>PIDs</th><th>Labels</th><th>Samples</th><th>Profile</th></tr>");
        foreach (var s in _latest.Snapshot())
        {
            sb.Append("<tr><td>").Append(string.Join(", ", s.Pids.Order())).Append("</td><td><code>")
              .Append(WebUtility.HtmlEncode(LabelSetBuilder.Format(s.Labels))).Append("</code></td><td>").Append(s.Samples)
              .Append("</td><td><a href=\"/profiles/").Append(ProfileId(s)).Append("\">download</a></td></tr>");
        }

        sb.Append("</table></body></html>");
        return sb.ToString();
    }
}
