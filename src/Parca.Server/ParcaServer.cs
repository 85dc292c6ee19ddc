using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Parca.Hosting;
using Parca.Hosting.Logging;
using Parca.Scrape;
using Parca.Server.Observability;
using Parca.Server.Rpc;
using Parca.Server.SelfProfiling;
using Parca.Server.Services;
using Parca.Server.WebUi;

namespace Parca.Server;

/// <summary>
/// The <c>parca</c> server as an object: the executable, the tests and the benchmarks all start it the same way,
/// in-process, on any address (tests use <c>127.0.0.1:0</c>). This is the composition root.
/// </summary>
public sealed class ParcaServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ParcaServer(WebApplication app, ParcaServerOptions options)
    {
        _app = app;
        Options = options;
    }

    public ParcaServerOptions Options { get; }

    /// <summary>The address actually bound (useful when the port was 0). Valid after <see cref="StartAsync"/>.</summary>
    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public IServiceProvider Services => _app.Services;

    /// <param name="configureServices">Runs after the server's own registrations: tests and other hosts add or replace
    /// services here (RPC services, an <c>IProfileWriter</c>).</param>
    /// <param name="storageApi">Whether the storage-backed API (ProfileStore, Query, Agents services and
    /// <c>/ingest</c>) is served. Tests of the transport turn it off to register their own handlers for those services.</param>
    public static ParcaServer Create(ParcaServerOptions options, Action<IServiceCollection>? configureServices = null, bool storageApi = true)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("invalid options:\n  " + string.Join("\n  ", problems));
        }

        if (!ListenAddress.TryParse(options.HttpAddress, out var endPoint, out var error))
        {
            throw new InvalidOperationException(error);
        }

        var tls = Security.ServerTls.Create(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddParcaConsole(options.LogFormat, options.LogLevel);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            RpcHosting.ConfigureKestrel(kestrel, endPoint, tls is null ? null : tls.Listen);
        });
        builder.Services.AddSingleton(options);
        // One instance: gRPC, /ingest and scraping share its decode budget.
        var ingestLimits = new IngestLimits(options.Limits, options.MaxMessageSize);
        builder.Services.AddSingleton(ingestLimits);
        RpcHosting.AddServices(builder.Services, options);
        Security.TransportHygiene.AddServices(builder.Services, options);
        builder.Services.AddParcaScraping(ScrapeHosting.OptionsFrom(options, ingestLimits));
        builder.Services.AddParcaObservability();
        builder.Services.AddParcaTracing(options);
        builder.Services.AddParcaSelfProfiling();
        configureServices?.Invoke(builder.Services);

        // --mode=scraper-only/forwarder runs no storage: the scraper forwards to --store-address.
        var withStorage = storageApi && options.Mode is "all" or "query";
        if (withStorage)
        {
            StorageHosting.AddServices(builder.Services, options);
        }

        var app = builder.Build();
        if (tls is not null)
        {
            tls.Logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("parca.tls");
        }

        app.UseParcaRequestMetrics();
        Security.TransportHygiene.Use(app, options);
        tls?.UseClientCertificateCheck(app, options.PathPrefix);
        Security.RequestAuthorization.Use(app, options);
        RpcHosting.UseMiddleware(app);
        MapEndpoints(app, options, withStorage);
        return new ParcaServer(app, options);
    }

    private static void MapEndpoints(WebApplication app, ParcaServerOptions options, bool withStorage)
    {
        var root = options.PathPrefix.Length > 0 ? app.MapGroup(options.PathPrefix) : (IEndpointRouteBuilder)app;
        RpcHosting.MapEndpoints(root);
        root.MapGet("/healthz", static () => Results.Text("ok\n"));
        if (withStorage)
        {
            StorageHosting.MapEndpoints(root);
        }

        root.MapGet("/ready", static () => Results.Text("ok\n"));
        root.MapParcaMetrics();
        root.MapParcaPprof();
        app.MapWebUi(root, options.PathPrefix, ParcaVersion.Version);
    }


    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken);
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        var first = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
        BaseAddress = new Uri($"{first.Scheme}://{first.Host}:{first.Port}{Options.PathPrefix}/");
        ServerLog.Listening(_app.Logger, ParcaVersion.Version, string.Join(", ", addresses));
        if (_app.Services.GetService<Parca.Storage.ProfileStore>() is { } store)
        {
            // Skipped block files and cut-short log segments: the server runs on with the rest, but says what it lost.
            foreach (var problem in store.LoadErrors)
            {
                ServerLog.StorageLoadProblem(_app.Logger, problem);
            }

            if (store.ReplayedProfiles > 0)
            {
                ServerLog.WalReplayed(_app.Logger, store.ReplayedProfiles);
            }
        }

        if (_app.Services.GetService<Parca.Query.Reports.ReportLimits>() is { } limits && Options.QueryWarmup)
        {
            Parca.Server.Services.QueryWarmup.Start(Options, limits, _app.Logger);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Runs until the process is asked to stop (Ctrl-C, SIGTERM).</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        await _app.WaitForShutdownAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
