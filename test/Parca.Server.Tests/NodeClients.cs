using System.Text.Json;

namespace Parca.Server.Tests;

/// <summary>Runs test/interop/tls-clients.mjs (grpc-js and @parca/client's gRPC-Web) with its options as JSON.</summary>
internal static class NodeClients
{
    public static async Task<JsonElement> RunAsync(object options)
    {
        // Node's fetch (gRPC-Web) trusts the test CA through the standard variable; grpc-js gets it in its credentials.
        var environment = new Dictionary<string, string>();
        if (JsonSerializer.SerializeToElement(options).TryGetProperty("ca", out var ca))
        {
            environment["NODE_EXTRA_CA_CERTS"] = ca.GetString() ?? "";
        }

        return JsonDocument.Parse(await ExternalProcess.NodeAsync("tls-clients.mjs", environment, JsonSerializer.Serialize(options))).RootElement;
    }
}
