using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Parca.Agent.Debuginfo;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// The agent's uploader against a real server: it finds the stripped program's debug file by build id under a
/// --debuginfo-directories directory, strips and compresses it, uploads it once, and the server names the profile's
/// frames as addr2line does; a second agent (fresh cache) is told the server already has it.
/// </summary>
public sealed class AgentUploaderTests() : NativeProgramFixture("parca-agent-upload-")
{
    [Fact]
    public async Task Uploads_the_debug_file_found_by_build_id_once_and_theServer_names_frames_from_it()
    {
        var debugDir = Path.Combine(Dir, "debug");
        var id = Program.BuildId;
        Directory.CreateDirectory(Path.Combine(debugDir, ".build-id", id[..2]));
        File.Copy(Program.DebugFile, Path.Combine(debugDir, ".build-id", id[..2], id[2..] + ".debug"));

        var text = Program.MapText(0x7f00_0000_0000UL);
        var pcs = Program.InterestingAddresses(6);
        var addresses = text.Addresses(pcs);
        await Server.IngestAsync("agent", id, text.Start, text.Limit, text.FileOffset, addresses);

        var options = new DebuginfoUploadOptions { Directories = [debugDir], TempDirectory = Path.Combine(Dir, "tmp"), Strip = true, Compress = true, MaxParallel = 2 };
        using (var channel = GrpcChannels.Create(Server.Server.BaseAddress.ToString()))
        {
            await using var uploader = new DebuginfoUploader(new DebuginfoService.DebuginfoServiceClient(channel), options, NullLogger.Instance, TimeProvider.System);
            using var handle = File.OpenHandle(Program.Stripped);
            uploader.Enqueue(id, handle, Program.Stripped, "/");
            await Until(() => uploader.Stats.Uploaded + uploader.Stats.Failed > 0);
            uploader.Enqueue(id, handle, Program.Stripped, "/");
            uploader.Enqueue(id, handle, Program.Stripped, "/");
            Assert.Equal((1L, 0L, 0L, 0L), uploader.Stats);
            Assert.Empty(Directory.GetFiles(options.TempDirectory)); // the extract is deleted after the upload
        }

        var named = DebuginfoTestServer.Frames(await Server.QueryAsync("agent"));
        var expected = Program.Addr2line(pcs);
        for (var i = 0; i < pcs.Count; i++)
        {
            Assert.Equal(expected[pcs[i]], named[addresses[i]]);
        }

        using (var channel = GrpcChannels.Create(Server.Server.BaseAddress.ToString()))
        {
            await using var second = new DebuginfoUploader(new DebuginfoService.DebuginfoServiceClient(channel), options, NullLogger.Instance, TimeProvider.System);
            using var handle = File.OpenHandle(Program.Stripped);
            second.Enqueue(id, handle, Program.Stripped, "/");
            await Until(() => second.Stats.AlreadyThere + second.Stats.Failed > 0);
            Assert.Equal((0L, 1L, 0L, 0L), second.Stats);
        }
    }

    /// <summary>
    /// Found by CI: an agent shipping to a store without the debuginfo service (UNIMPLEMENTED) or stopping while an
    /// upload was in flight (CANCELLED) had its uploader's worker fault, and the agent's DisposeAsync threw the
    /// RpcException. A refusal is counted as a failure; a stop ends the call quietly.
    /// </summary>
    [Fact]
    public async Task A_store_without_the_service_or_a_stop_mid_call_is_a_counted_failure_not_a_fault()
    {
        var called = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await StartGrpcHostAsync(called);
        var options = new DebuginfoUploadOptions { TempDirectory = Path.Combine(Dir, "tmp"), MaxParallel = 1 };
        using var handle = File.OpenHandle(Program.Stripped);

        using (var channel = GrpcChannels.Create(host.Urls.First(), new RpcChannelOptions { Insecure = true }))
        {
            var uploader = new DebuginfoUploader(new DebuginfoService.DebuginfoServiceClient(channel), options, NullLogger.Instance, TimeProvider.System);
            uploader.Enqueue(Program.BuildId, handle, Program.Stripped, "/");
            await called.Task.WaitAsync(TimeSpan.FromMinutes(1));
            await uploader.DisposeAsync(); // threw RpcException(Cancelled) before
            Assert.Equal((0L, 0L, 0L, 0L), uploader.Stats); // a stop is not a failure
        }

        await using var bare = await StartGrpcHostAsync(hang: null);
        using (var channel = GrpcChannels.Create(bare.Urls.First(), new RpcChannelOptions { Insecure = true }))
        {
            var uploader = new DebuginfoUploader(new DebuginfoService.DebuginfoServiceClient(channel), options, NullLogger.Instance, TimeProvider.System);
            uploader.Enqueue(Program.BuildId, handle, Program.Stripped, "/");
            await Until(() => uploader.Stats.Failed > 0);
            await uploader.DisposeAsync();
            Assert.Equal((0L, 0L, 1L, 0L), uploader.Stats);
        }
    }

    /// <summary>
    /// An HTTP/2 server on loopback. With <paramref name="hang"/>, ShouldInitiateUpload is accepted and never answered;
    /// without, no gRPC method exists (the client reads the 404 as UNIMPLEMENTED, as from a store without the service).
    /// </summary>
    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartGrpcHostAsync(TaskCompletionSource? hang)
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        if (hang is not null)
        {
            app.MapPost("/parca.debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload", async context =>
            {
                hang.TrySetResult();
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            });
        }

        await app.StartAsync();
        return app;
    }

    private static async Task Until(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(100);
        }
    }
}
