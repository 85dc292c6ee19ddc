using System.Security.Cryptography;
using Parca.Symbols.Elf;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// A corrupt upload (DWARF whose first unit claims a reserved length) is marked invalid with the reason, visible
/// through ShouldInitiateUpload; queries keep answering (frames stay addresses); the same bytes are refused again
/// and a good file with another hash replaces it and names the frames.
/// </summary>
public sealed class CorruptDebuginfoTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "parca-corrupt-" + Guid.NewGuid().ToString("N"));
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
    public async Task Corrupt_dwarf_is_marked_invalid_with_its_reason_and_a_good_upload_replaces_it()
    {
        var good = await File.ReadAllBytesAsync(_program.DebugFile);
        var bad = (byte[])good.Clone();
        var info = ElfFile.Open(_program.DebugFile).Sections.First(s => s.Name == ".debug_info");
        BitConverter.TryWriteBytes(bad.AsSpan((int)info.Offset), 0xfffffff5u);

        var (offset, vaddr, size) = _program.TextSegment();
        var pcs = _program.InterestingAddresses(3);
        await _server.IngestAsync("corrupt", _program.BuildId, vaddr & ~0xfffUL, (vaddr & ~0xfffUL) + size + 0x1000, offset & ~0xfffUL, pcs);
        await _server.UploadAsync(_program.BuildId, bad);

        var frames = DebuginfoTestServer.Frames(await _server.QueryAsync("corrupt"));
        Assert.All(pcs, pc => Assert.Empty(frames[pc]));

        var badHash = Convert.ToHexStringLower(SHA256.HashData(bad));
        var same = await _server.ShouldInitiateAsync(_program.BuildId, badHash);
        Assert.False(same.ShouldInitiateUpload);
        Assert.EndsWith("reserved initial length 0xfffffff5", same.Reason, StringComparison.Ordinal);
        Assert.StartsWith("Debuginfo already exists and is marked as invalid, but the proposed hash is the same", same.Reason, StringComparison.Ordinal);

        await _server.UploadAsync(_program.BuildId, good);
        var named = DebuginfoTestServer.Frames(await _server.QueryAsync("corrupt"));
        var expected = _program.Addr2line(pcs);
        Assert.All(pcs, pc => Assert.Equal(expected[pc], named[pc]));
    }
}
