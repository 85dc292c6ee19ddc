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
public sealed class AgentUploaderTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "parca-agent-upload-" + Guid.NewGuid().ToString("N"));
    private DebuginfoTestServer _server = null!;
    private NativeProgram _program = null!;

    public async Task InitializeAsync()
    {
        _program = NativeProgram.Build(Path.Combine(_dir, "program"));
        _server = await DebuginfoTestServer.StartAsync(Path.Combine(_dir, "server"));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Uploads_the_debug_file_found_by_build_id_once_and_the_server_names_frames_from_it()
    {
        var debugDir = Path.Combine(_dir, "debug");
        var id = _program.BuildId;
        Directory.CreateDirectory(Path.Combine(debugDir, ".build-id", id[..2]));
        File.Copy(_program.DebugFile, Path.Combine(debugDir, ".build-id", id[..2], id[2..] + ".debug"));

        var (offset, vaddr, size) = _program.TextSegment();
        var start = 0x7f00_0000_0000UL + (vaddr & ~0xfffUL);
        var fileOffset = offset & ~0xfffUL;
        var pcs = _program.InterestingAddresses(6);
        var addresses = pcs.Select(pc => pc - vaddr + offset - fileOffset + start).ToList();
        await _server.IngestAsync("agent", id, start, start + size + 0x1000, fileOffset, addresses);

        var options = new DebuginfoUploadOptions { Directories = [debugDir], TempDirectory = Path.Combine(_dir, "tmp"), Strip = true, Compress = true, MaxParallel = 2 };
        using (var channel = GrpcChannels.Create(_server.Server.BaseAddress.ToString()))
        {
            await using var uploader = new DebuginfoUploader(new DebuginfoService.DebuginfoServiceClient(channel), options, NullLogger.Instance, TimeProvider.System);
            using var handle = File.OpenHandle(_program.Stripped);
            uploader.Enqueue(id, handle, _program.Stripped, "/");
            await Until(() => uploader.Stats.Uploaded + uploader.Stats.Failed > 0);
            uploader.Enqueue(id, handle, _program.Stripped, "/");
            uploader.Enqueue(id, handle, _program.Stripped, "/");
            Assert.Equal((1L, 0L, 0L, 0L), uploader.Stats);
            Assert.Empty(Directory.GetFiles(options.TempDirectory)); // the extract is deleted after the upload
        }

        var named = DebuginfoTestServer.Frames(await _server.QueryAsync("agent"));
        var expected = _program.Addr2line(pcs);
        for (var i = 0; i < pcs.Count; i++)
        {
            Assert.Equal(expected[pcs[i]], named[addresses[i]]);
        }

        using (var channel = GrpcChannels.Create(_server.Server.BaseAddress.ToString()))
        {
            await using var second = new DebuginfoUploader(new DebuginfoService.DebuginfoServiceClient(channel), options, NullLogger.Instance, TimeProvider.System);
            using var handle = File.OpenHandle(_program.Stripped);
            second.Enqueue(id, handle, _program.Stripped, "/");
            await Until(() => second.Stats.AlreadyThere + second.Stats.Failed > 0);
            Assert.Equal((0L, 1L, 0L, 0L), second.Stats);
        }
    }

    private static async Task Until(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(100);
        }
    }
}
