using System.Diagnostics;
using System.Text.Json;

namespace Parca.Server.Tests;

/// <summary>Runs test/interop/tls-clients.mjs (grpc-js and @parca/client's gRPC-Web) with its options as JSON.</summary>
internal static class NodeClients
{
    private static string InteropDir => Path.Combine(RepoPaths.Root, "test", "interop");

    public static async Task<JsonElement> RunAsync(object options)
    {
        if (!Directory.Exists(Path.Combine(InteropDir, "node_modules", "@grpc", "grpc-js")))
        {
            throw new InvalidOperationException("test/interop/node_modules is missing: run scripts/bootstrap.sh test (it runs npm ci there)");
        }

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = InteropDir };
        foreach (var arg in (string[])["--import", "./register.mjs", "tls-clients.mjs", JsonSerializer.Serialize(options)])
        {
            start.ArgumentList.Add(arg);
        }

        // Node's fetch (gRPC-Web) trusts the test CA through the standard variable; grpc-js gets it in its credentials.
        if (JsonSerializer.SerializeToElement(options).TryGetProperty("ca", out var ca))
        {
            start.Environment["NODE_EXTRA_CA_CERTS"] = ca.GetString();
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node tls-clients.mjs failed with {process.ExitCode}: {await stderr}");
        }

        return JsonDocument.Parse(await stdout).RootElement;
    }
}
