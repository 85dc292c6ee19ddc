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

    private static async Task Until(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(100);
        }
    }
}
