using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// Symbolization through a debuginfod upstream instead of an upload: Debian's debuginfod serves the program's debug
/// file; the server fetches it once (cached in its bucket), names frames as addr2line does, and tells agents no
/// upload is needed. A build id no upstream has stays unnamed and is not asked again while remembered.
/// </summary>
public sealed class DebuginfodTests() : NativeProgramFixture("parca-debuginfod-")
{
    private DebuginfodPeer _peer = null!;

    /// <summary>Debian's debuginfod serving the program's debug file, as the server's only upstream.</summary>
    private protected override async Task<DebuginfoTestServer> StartServerAsync(string directory)
    {
        var served = Path.Combine(Dir, "served");
        Directory.CreateDirectory(served);
        File.Copy(Program.DebugFile, Path.Combine(served, "p.debug"));
        _peer = await DebuginfodPeer.StartAsync(served, Program.BuildId);
        return await DebuginfoTestServer.StartAsync(directory, [_peer.Url]);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _peer?.Dispose();
    }

    [Fact]
    public async Task Frames_are_named_from_debuginfod_without_an_upload()
    {
        var text = Program.MapText(0x5600_0000_0000UL);
        var pcs = Program.InterestingAddresses(6);
        var addresses = text.Addresses(pcs);
        await Server.IngestAsync("dbgd", Program.BuildId, text.Start, text.Limit, text.FileOffset, addresses);
        await Server.IngestAsync("missing", "00112233445566778899aabbccddeeff00112233", text.Start, text.Limit, text.FileOffset, addresses);

        var named = DebuginfoTestServer.Frames(await Server.QueryAsync("dbgd"));
        var expected = Program.Addr2line(pcs);
        for (var i = 0; i < pcs.Count; i++)
        {
            Assert.Equal(expected[pcs[i]], named[addresses[i]]);
        }

        Assert.True(File.Exists(Path.Combine(Dir, "server", "data", "debuginfo", "debuginfod-cache", Program.BuildId, "debuginfo")));
        var should = await Server.ShouldInitiateAsync(Program.BuildId);
        Assert.False(should.ShouldInitiateUpload);
        Assert.Equal("Debuginfo exists in debuginfod, therefore no upload is necessary.", should.Reason);

        var unknown = DebuginfoTestServer.Frames(await Server.QueryAsync("missing"));
        Assert.All(addresses, a => Assert.Empty(unknown[a]));
        var ask = await Server.ShouldInitiateAsync("00112233445566778899aabbccddeeff00112233");
        Assert.True(ask.ShouldInitiateUpload);

        var bad = await Assert.ThrowsAsync<RpcException>(() => Server.Channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, new ShouldInitiateUploadRequest { BuildId = "../../etc" }));
        Assert.Equal(StatusCode.InvalidArgument, bad.Status);
    }
}
