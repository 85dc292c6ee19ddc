namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// Upload → query-time symbolization end to end: a stripped gcc -O2 program's profile ingested with bare addresses,
/// its debug file uploaded through DebuginfoService, and the pprof report through the real query API naming every
/// frame exactly as binutils' <c>addr2line -i -f</c> does on the same addresses, inlined frames included.
/// </summary>
public sealed class DebuginfoUploadTests() : NativeProgramFixture("parca-debuginfo-")
{
    private const ulong Base = 0x5555_5555_0000;
    [Fact]
    public async Task Profile_ingested_before_the_upload_is_named_after_it_with_addr2line_frames_and_inlines()
    {
        var text = Program.MapText(Base);
        var pcs = Program.InterestingAddresses(8);
        var addresses = text.Addresses(pcs);
        await Server.IngestAsync("before", Program.BuildId, text.Start, text.Limit, text.FileOffset, addresses);

        var unnamed = DebuginfoTestServer.Frames(await Server.QueryAsync("before"));
        Assert.All(addresses, a => Assert.Empty(unnamed[a]));

        var size2 = await Server.UploadAsync(Program.BuildId, await File.ReadAllBytesAsync(Program.DebugFile));
        Assert.Equal((ulong)new FileInfo(Program.DebugFile).Length, size2);

        var named = DebuginfoTestServer.Frames(await Server.QueryAsync("before"));
        var expected = Program.Addr2line(pcs);
        Assert.Contains(expected.Values, f => f.Count >= 3); // square inlined into poly inlined into accumulate into busy
        for (var i = 0; i < pcs.Count; i++)
        {
            Assert.Equal(expected[pcs[i]], named[addresses[i]]);
        }

        var again = await Server.ShouldInitiateAsync(Program.BuildId);
        Assert.False(again.ShouldInitiateUpload);
        Assert.Equal("Debuginfo already exists and is not marked as invalid, therefore no new upload is needed.", again.Reason);
    }

    [Fact]
    public async Task V2_arrow_frames_at_file_addresses_ingested_before_the_upload_are_named_after_it_as_addr2line()
    {
        // Parca's v2 convention (WriteArrow, what current agents send): the ELF file's own addresses, no mapping range.
        var pcs = Program.InterestingAddresses(8);
        await Server.IngestV2Async("v2", Program.BuildId, pcs);
        var unnamed = DebuginfoTestServer.Frames(await Server.QueryAsync("v2"));
        Assert.All(pcs, pc => Assert.Empty(unnamed[pc]));

        await Server.UploadAsync(Program.BuildId, await File.ReadAllBytesAsync(Program.DebugFile));

        var named = DebuginfoTestServer.Frames(await Server.QueryAsync("v2"));
        var expected = Program.Addr2line(pcs);
        Assert.Contains(expected.Values, f => f.Count >= 3);
        Assert.All(pcs, pc => Assert.Equal(expected[pc], named[pc]));
    }
}

/// <summary>The per-(build id, address) answers survive a restart: the second server names them without the debug file.</summary>
public sealed class PersistedSymbolsTests() : NativeProgramFixture("parca-symcache-", startServer: false)
{
    private const ulong Base = 0x7f00_1000_0000;

    [Fact]
    public async Task Restarted_server_names_addresses_it_named_before_without_the_debug_file()
    {
        var text = Program.MapText(Base);
        var pcs = Program.InterestingAddresses(6);
        var toAddress = text.Address;
        var addresses = text.Addresses(pcs);
        var expected = Program.Addr2line(pcs);
        var serverDir = Path.Combine(Dir, "server");

        await using (var first = await DebuginfoTestServer.StartAsync(serverDir))
        {
            await first.IngestAsync("first", Program.BuildId, text.Start, text.Limit, text.FileOffset, addresses);
            await first.UploadAsync(Program.BuildId, await File.ReadAllBytesAsync(Program.DebugFile));
            var named = DebuginfoTestServer.Frames(await first.QueryAsync("first"));
            Assert.All(pcs, pc => Assert.Equal(expected[pc], named[toAddress(pc)]));
        }

        Assert.True(File.Exists(Path.Combine(serverDir, "data", "debuginfo-symbols", Program.BuildId)));
        File.Delete(Path.Combine(serverDir, "data", "debuginfo", Program.BuildId, "debuginfo"));

        // One address the first server never saw: with the debug file gone, only persisted answers can name anything.
        var unseen = Program.InterestingAddresses(40).First(pc => !pcs.Contains(pc));
        await using var second = await DebuginfoTestServer.StartAsync(serverDir);
        await second.IngestAsync("second", Program.BuildId, text.Start, text.Limit, text.FileOffset, [.. addresses, toAddress(unseen)]);
        var again = DebuginfoTestServer.Frames(await second.QueryAsync("second"));
        Assert.All(pcs, pc => Assert.Equal(expected[pc], again[toAddress(pc)]));
        Assert.Empty(again[toAddress(unseen)]);
    }
}
