using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Server;

namespace Parca.Scrape.Tests;

/// <summary>
/// A real gRPC server (Kestrel + Parca.Rpc, h2c on 127.0.0.1) whose ProfileStoreService/WriteRaw records what it
/// receives and the bearer token it came with: the receiving end of forwarder-mode tests.
/// </summary>
internal sealed class RecordingProfileStore : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RecordingProfileStore(WebApplication app, Received received)
    {
        _app = app;
        Requests = received;
    }

    public Received Requests { get; }

    public int Port { get; private set; }

    /// <param name="beforeRecording">Runs first for every WriteRaw call: may wait (a slow store) or throw an
    /// <see cref="RpcException"/> (the store refuses the whole request; nothing of it is recorded).</param>
    public static async Task<RecordingProfileStore> StartAsync(int port = 0, Func<WriteRawRequest, CancellationToken, Task>? beforeRecording = null)
    {
        var received = new Received();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AllowAlternateSchemes = true;
            k.Listen(IPAddress.Loopback, port, l => l.UseHttp2PrefaceDetection());
        });
        builder.Services.AddParcaRpc();
        builder.Services.AddRpcService(b => b.MapUnary(ParcaApi.ProfileStore.WriteRaw, async (request, context) =>
        {
            if (beforeRecording is not null)
            {
                await beforeRecording(request, context.CancellationToken);
            }

            foreach (var series in request.Series)
            {
                received.Add((series, context.BearerToken));
            }

            return new WriteRawResponse();
        }));
        var app = builder.Build();
        app.UseParcaRpc();
        await app.StartAsync();
        var store = new RecordingProfileStore(app, received);
        store.Port = new Uri(app.Urls.First()).Port;
        return store;
    }

    private int _disposed;

    /// <summary>Stops the store (gracefully: calls in progress complete); a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _app.DisposeAsync();
        }
    }

    internal sealed class Received : ConcurrentQueue<(RawProfileSeries Series, string? BearerToken)>
    {
        public void Add((RawProfileSeries, string?) item) => Enqueue(item);

        public async Task<(RawProfileSeries Series, string? BearerToken)> WaitForAsync(Func<RawProfileSeries, bool> match, TimeSpan guard)
        {
            using var cts = new CancellationTokenSource(guard);
            while (true)
            {
                foreach (var item in this)
                {
                    if (match(item.Series))
                    {
                        return item;
                    }
                }

                await Task.Delay(50, cts.Token);
            }
        }
    }
}
