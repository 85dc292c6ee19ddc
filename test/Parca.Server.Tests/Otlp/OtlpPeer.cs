using System.Text.Json;
using Parca.Server.Tests.Arrow;

namespace Parca.Server.Tests.Otlp;

/// <summary>One request of an <see cref="OtlpPeer.ExportAsync"/> plan.</summary>
internal sealed record OtlpStep(string Name, string Transport, object Request, bool Gzip = false, string? ContentType = null);

/// <summary>The OTLP peer: test/interop/otlp-export.mjs (protobufjs-encoded requests over @grpc/grpc-js or fetch).</summary>
internal static class OtlpPeer
{
    public static async Task<JsonElement> ExportAsync(ParcaServer server, params OtlpStep[] steps)
    {
        var dir = Directory.CreateTempSubdirectory("parca-otlp-");
        try
        {
            var plan = steps.Select(s => new { name = s.Name, transport = s.Transport, gzip = s.Gzip, contentType = s.ContentType, request = s.Request });
            var file = Path.Combine(dir.FullName, "plan.json");
            await File.WriteAllTextAsync(file, JsonSerializer.Serialize(plan));
            return JsonDocument.Parse(await ArrowPeers.NodeAsync("otlp-export.mjs", server.BaseAddress.Authority, file)).RootElement;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    public static void AssertOk(JsonElement result, string name) =>
        Assert.True(result.GetProperty(name).TryGetProperty("ok", out var ok) && ok.GetBoolean(), $"{name}: {result}");
}
