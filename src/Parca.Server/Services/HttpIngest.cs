using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Parca.Server.Services;

/// <summary>
/// <c>POST /ingest?name=process_cpu&amp;job=x&amp;instance=y</c> with a raw or gzipped pprof body: every query
/// parameter but <c>name</c> becomes a label. So <c>curl --data-binary @cpu.pb.gz 'http://localhost:7070/ingest?name=process_cpu&amp;job=app'</c>
/// works. 200 with the number of samples stored; 400 (413 for limits) with the reason.
/// </summary>
internal static class HttpIngest
{
    public static void Map(IEndpointRouteBuilder root) => root.MapPost("/ingest", (Delegate)Ingest);

    private static async Task<IResult> Ingest(HttpContext http)
    {
        var writer = http.RequestServices.GetRequiredService<ProfileWriter>();
        var query = http.Request.Query;
        var name = query["name"].ToString();
        if (name.Length == 0)
        {
            return Results.Text("missing query parameter 'name' (the profile name, e.g. ?name=process_cpu)\n", statusCode: 400);
        }

        var labels = new List<KeyValuePair<string, string>> { new("__name__", name) };
        foreach (var (key, values) in query)
        {
            if (key != "name")
            {
                labels.Add(new(key, values.ToString()));
            }
        }

        using var body = new MemoryStream();
        await http.Request.Body.CopyToAsync(body, http.RequestAborted);
        if (body.Length == 0)
        {
            return Results.Text("empty body: send a pprof profile (raw or gzipped), e.g. curl --data-binary @cpu.pb.gz\n", statusCode: 400);
        }

        try
        {
            var stored = writer.Write([new WriteSeries(labels, [new WriteSample(body.GetBuffer().AsMemory(0, (int)body.Length), null)])]);
            return Results.Text(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{{\"samples\":{stored}}}\n"), "application/json", Encoding.UTF8);
        }
        catch (IngestError e)
        {
            return Results.Text(e.Message + "\n", statusCode: e.Kind switch
            {
                IngestErrorKind.DiskFull => 507,
                IngestErrorKind.Busy or IngestErrorKind.Unavailable => 503,
                _ => e.IsLimit ? 413 : 400,
            });
        }
    }
}
