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

    [Fact]
    public async Task V2_arrow_frames_at_file_addresses_ingested_before_the_upload_are_named_after_it_as_addr2line()
    {
        // Parca's v2 convention (WriteArrow, what current agents send): the ELF file's own addresses, no mapping range.
        var pcs = _program.InterestingAddresses(8);
        await _server.IngestV2Async("v2", _program.BuildId, pcs);
        var unnamed = DebuginfoTestServer.Frames(await _server.QueryAsync("v2"));
        Assert.All(pcs, pc => Assert.Empty(unnamed[pc]));

        await _server.UploadAsync(_program.BuildId, await File.ReadAllBytesAsync(_program.DebugFile));

        var named = DebuginfoTestServer.Frames(await _server.QueryAsync("v2"));
        var expected = _program.Addr2line(pcs);
        Assert.Contains(expected.Values, f => f.Count >= 3);
        Assert.All(pcs, pc => Assert.Equal(expected[pc], named[pc]));
    }
}

/// <summary>The per-(build id, address) answers survive a restart: the second server names them without the debug file.</summary>
public sealed class PersistedSymbolsTests : IAsyncLifetime
{
    private const ulong Base = 0x7f00_1000_0000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "parca-symcache-" + Guid.NewGuid().ToString("N"));
    private NativeProgram _program = null!;

    public Task InitializeAsync()
    {
        _program = NativeProgram.Build(Path.Combine(_dir, "program"));
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Restarted_server_names_addresses_it_named_before_without_the_debug_file()
    {
        var (offset, vaddr, size) = _program.TextSegment();
        var start = Base + (vaddr & ~0xfffUL);
        var fileOffset = offset & ~0xfffUL;
        var pcs = _program.InterestingAddresses(6);
        var toAddress = (ulong pc) => pc - vaddr + offset - fileOffset + start;
        var addresses = pcs.Select(toAddress).ToList();
        var expected = _program.Addr2line(pcs);
        var serverDir = Path.Combine(_dir, "server");

        await using (var first = await DebuginfoTestServer.StartAsync(serverDir))
        {
            await first.IngestAsync("first", _program.BuildId, start, start + size + 0x1000, fileOffset, addresses);
            await first.UploadAsync(_program.BuildId, await File.ReadAllBytesAsync(_program.DebugFile));
            var named = DebuginfoTestServer.Frames(await first.QueryAsync("first"));
            Assert.All(pcs, pc => Assert.Equal(expected[pc], named[toAddress(pc)]));
        }

        Assert.True(File.Exists(Path.Combine(serverDir, "data", "debuginfo-symbols", _program.BuildId)));
        File.Delete(Path.Combine(serverDir, "data", "debuginfo", _program.BuildId, "debuginfo"));

        // One address the first server never saw: with the debug file gone, only persisted answers can name anything.
        var unseen = _program.InterestingAddresses(40).First(pc => !pcs.Contains(pc));
        await using var second = await DebuginfoTestServer.StartAsync(serverDir);
        await second.IngestAsync("second", _program.BuildId, start, start + size + 0x1000, fileOffset, [.. addresses, toAddress(unseen)]);
        var again = DebuginfoTestServer.Frames(await second.QueryAsync("second"));
        Assert.All(pcs, pc => Assert.Equal(expected[pc], again[toAddress(pc)]));
        Assert.Empty(again[toAddress(unseen)]);
    }
}
