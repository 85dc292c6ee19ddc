using Microsoft.Extensions.DependencyInjection;
using Parca.Server;

namespace Parca.Scrape.Tests;

/// <summary>A real <see cref="ParcaServer"/> on 127.0.0.1:0 with a parca.yaml in a temporary directory.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(ParcaServer server, string directory, RecordingProfileWriter writer)
    {
        Server = server;
        Directory = directory;
        Writer = writer;
    }

    public ParcaServer Server { get; }

    public string Directory { get; }

    public string ConfigPath => Path.Combine(Directory, "parca.yaml");

    public RecordingProfileWriter Writer { get; }

    public ScrapeManager Scraper => Server.Services.GetRequiredService<ScrapeManager>();

    /// <param name="realStorage">Ingest into the server's real storage instead of the recording writer.</param>
    /// <param name="services">Runs after the server's registrations (e.g. to wrap the forwarder).</param>
    public static async Task<TestServer> StartAsync(string yaml, Action<ParcaServerOptions>? configure = null, bool realStorage = false, Action<IServiceCollection>? services = null)
    {
        var dir = System.IO.Directory.CreateTempSubdirectory("parca-scrape-test-").FullName;
        var path = Path.Combine(dir, "parca.yaml");
        if (yaml.Length > 0)
        {
            await File.WriteAllTextAsync(path, yaml); // empty: no file, the server starts without scrape jobs
        }
        var writer = new RecordingProfileWriter();
        var options = new ParcaServerOptions { HttpAddress = "127.0.0.1:0", ConfigPath = path, LogLevel = "warn" };
        configure?.Invoke(options);
        // In forwarder modes the forwarder is the writer under test; otherwise the recording writer stands in for storage.
        var server = ParcaServer.Create(options, collection =>
        {
            if (options.Mode == "all" && !realStorage)
            {
                collection.AddSingleton<IProfileWriter>(writer);
            }

            services?.Invoke(collection);
        });
        await server.StartAsync();
        return new TestServer(server, dir, writer);
    }

    public static string Config(string scrapeConfigs) => $"""
        object_storage:
          bucket:
            type: FILESYSTEM
            config:
              directory: ./data
        scrape_configs:
        {scrapeConfigs}
        """;

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // tests may dispose early to check shutdown
        }

        await Server.DisposeAsync();
        if (System.IO.Directory.Exists(Directory))
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
