namespace Parca.Server.Tests;

/// <summary>
/// CORS with a configured origin on a real server (the transport-hygiene middleware answers ahead of every RPC
/// protocol): the browser's preflight for gRPC-Web is allowed for that origin and the gRPC status headers are exposed;
/// other origins get no CORS headers.
/// </summary>
public sealed class CorsTests : IAsyncLifetime
{
    private const string ProfileTypesPath = "/api/parca.query.v1alpha1.QueryService/ProfileTypes";
    private ParcaServer _server = null!;

    private string Http => _server.BaseAddress.ToString().TrimEnd('/');

    public async Task InitializeAsync()
    {
        _server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            ConfigPath = "/nonexistent/parca.yaml",
            CorsAllowedOrigins = ["http://ui.example"],
        });
        await _server.StartAsync();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Preflight_allows_the_configured_origin_and_calls_expose_the_grpc_headers()
    {
        var preflight = await Curl.RunAsync("-X", "OPTIONS", "-H", "Origin: http://ui.example", "-H", "Access-Control-Request-Method: POST",
            "-H", "Access-Control-Request-Headers: content-type,x-grpc-web,x-user-agent", Http + ProfileTypesPath);
        Assert.Equal(204, preflight.Status);
        Assert.Contains("access-control-allow-origin: http://ui.example", preflight.Headers, StringComparison.OrdinalIgnoreCase);

        var call = await Curl.RunAsync("-H", "Origin: http://ui.example", Http + "/api/profiles/types");
        Assert.Contains("access-control-expose-headers: grpc-status,grpc-message", call.Headers, StringComparison.OrdinalIgnoreCase);

        var other = await Curl.RunAsync("-H", "Origin: http://evil.example", Http + "/api/profiles/types");
        Assert.DoesNotContain("access-control-allow-origin", other.Headers, StringComparison.OrdinalIgnoreCase);
    }
}
