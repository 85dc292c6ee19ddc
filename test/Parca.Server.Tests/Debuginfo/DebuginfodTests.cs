using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// Symbolization through a debuginfod upstream instead of an upload: Debian's debuginfod serves the program's debug
/// file; the server fetches it once (cached in its bucket), names frames as addr2line does, and tells agents no
/// upload is needed. A build id no upstream has stays unnamed and is not asked again while remembered.
/// </summary>
public sealed class DebuginfodTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "parca-debuginfod-" + Guid.NewGuid().ToString("N"));
    private DebuginfoTestServer _server = null!;
    private NativeProgram _program = null!;
    private DebuginfodPeer _peer = null!;

    public async Task InitializeAsync()
    {
        _program = NativeProgram.Build(Path.Combine(_dir, "program"));
        var served = Path.Combine(_dir, "served");
        Directory.CreateDirectory(served);
        File.Copy(_program.DebugFile, Path.Combine(served, "p.debug"));
        _peer = await DebuginfodPeer.StartAsync(served, _program.BuildId);
        _server = await DebuginfoTestServer.StartAsync(Path.Combine(_dir, "server"), [_peer.Url]);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _peer.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Frames_are_named_from_debuginfod_without_an_upload()
    {
        var (offset, vaddr, size) = _program.TextSegment();
        var start = 0x5600_0000_0000UL + (vaddr & ~0xfffUL);
        var fileOffset = offset & ~0xfffUL;
        var pcs = _program.InterestingAddresses(6);
        var addresses = pcs.Select(pc => pc - vaddr + offset - fileOffset + start).ToList();
        await _server.IngestAsync("dbgd", _program.BuildId, start, start + size + 0x1000, fileOffset, addresses);
        await _server.IngestAsync("missing", "00112233445566778899aabbccddeeff00112233", start, start + size + 0x1000, fileOffset, addresses);

        var named = DebuginfoTestServer.Frames(await _server.QueryAsync("dbgd"));
        var expected = _program.Addr2line(pcs);
        for (var i = 0; i < pcs.Count; i++)
        {
            Assert.Equal(expected[pcs[i]], named[addresses[i]]);
        }

        Assert.True(File.Exists(Path.Combine(_dir, "server", "data", "debuginfo", "debuginfod-cache", _program.BuildId, "debuginfo")));
        var should = await _server.ShouldInitiateAsync(_program.BuildId);
        Assert.False(should.ShouldInitiateUpload);
        Assert.Equal("Debuginfo exists in debuginfod, therefore no upload is necessary.", should.Reason);

        var unknown = DebuginfoTestServer.Frames(await _server.QueryAsync("missing"));
        Assert.All(addresses, a => Assert.Empty(unknown[a]));
        var ask = await _server.ShouldInitiateAsync("00112233445566778899aabbccddeeff00112233");
        Assert.True(ask.ShouldInitiateUpload);

        var bad = await Assert.ThrowsAsync<RpcException>(() => _server.Channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, new ShouldInitiateUploadRequest { BuildId = "../../etc" }));
        Assert.Equal(StatusCode.InvalidArgument, bad.Status);
    }
}
