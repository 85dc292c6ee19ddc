namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// Upload → query-time symbolization end to end: a stripped gcc -O2 program's profile ingested with bare addresses,
/// its debug file uploaded through DebuginfoService, and the pprof report through the real query API naming every
/// frame exactly as binutils' <c>addr2line -i -f</c> does on the same addresses, inlined frames included.
/// </summary>
public sealed class DebuginfoUploadTests : IAsyncLifetime
{
    private const ulong Base = 0x5555_5555_0000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "parca-debuginfo-" + Guid.NewGuid().ToString("N"));
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
    public async Task Profile_ingested_before_the_upload_is_named_after_it_with_addr2line_frames_and_inlines()
    {
        // The text segment mapped as the kernel maps it: page-aligned start, the segment's file offset.
        var (offset, vaddr, size) = _program.TextSegment();
        var start = Base + (vaddr & ~0xfffUL);
        var fileOffset = offset & ~0xfffUL;
        var pcs = _program.InterestingAddresses(8);
        var addresses = pcs.Select(pc => pc - vaddr + offset - fileOffset + start).ToList();
        await _server.IngestAsync("before", _program.BuildId, start, start + size + 0x1000, fileOffset, addresses);

        var unnamed = DebuginfoTestServer.Frames(await _server.QueryAsync("before"));
        Assert.All(addresses, a => Assert.Empty(unnamed[a]));

        var size2 = await _server.UploadAsync(_program.BuildId, await File.ReadAllBytesAsync(_program.DebugFile));
        Assert.Equal((ulong)new FileInfo(_program.DebugFile).Length, size2);

        var named = DebuginfoTestServer.Frames(await _server.QueryAsync("before"));
        var expected = _program.Addr2line(pcs);
        Assert.Contains(expected.Values, f => f.Count >= 3); // square inlined into poly inlined into accumulate into busy
        for (var i = 0; i < pcs.Count; i++)
        {
            Assert.Equal(expected[pcs[i]], named[addresses[i]]);
        }

        var again = await _server.ShouldInitiateAsync(_program.BuildId);
        Assert.False(again.ShouldInitiateUpload);
        Assert.Equal("Debuginfo already exists and is not marked as invalid, therefore no new upload is needed.", again.Reason);
    }
}
