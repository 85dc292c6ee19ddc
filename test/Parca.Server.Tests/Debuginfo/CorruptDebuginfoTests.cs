using System.Security.Cryptography;
using Parca.Symbols.Elf;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// A corrupt upload (DWARF whose first unit claims a reserved length) is marked invalid with the reason, visible
/// through ShouldInitiateUpload; queries keep answering (frames stay addresses); the same bytes are refused again
/// and a good file with another hash replaces it and names the frames.
/// </summary>
public sealed class CorruptDebuginfoTests() : NativeProgramFixture("parca-corrupt-")
{
    [Fact]
    public async Task Corrupt_dwarf_is_marked_invalid_with_its_reason_and_a_good_upload_replaces_it()
    {
        var good = await File.ReadAllBytesAsync(Program.DebugFile);
        var bad = (byte[])good.Clone();
        var info = ElfFile.Open(Program.DebugFile).Sections.First(s => s.Name == ".debug_info");
        BitConverter.TryWriteBytes(bad.AsSpan((int)info.Offset), 0xfffffff5u);

        var text = Program.MapText(0); // at the ELF's own addresses
        var pcs = Program.InterestingAddresses(3);
        await Server.IngestAsync("corrupt", Program.BuildId, text.Start, text.Limit, text.FileOffset, pcs);
        await Server.UploadAsync(Program.BuildId, bad);

        var frames = DebuginfoTestServer.Frames(await Server.QueryAsync("corrupt"));
        Assert.All(pcs, pc => Assert.Empty(frames[pc]));

        var badHash = Convert.ToHexStringLower(SHA256.HashData(bad));
        var same = await Server.ShouldInitiateAsync(Program.BuildId, badHash);
        Assert.False(same.ShouldInitiateUpload);
        Assert.EndsWith("reserved initial length 0xfffffff5", same.Reason, StringComparison.Ordinal);
        Assert.StartsWith("Debuginfo already exists and is marked as invalid, but the proposed hash is the same", same.Reason, StringComparison.Ordinal);

        await Server.UploadAsync(Program.BuildId, good);
        var named = DebuginfoTestServer.Frames(await Server.QueryAsync("corrupt"));
        var expected = Program.Addr2line(pcs);
        Assert.All(pcs, pc => Assert.Equal(expected[pc], named[pc]));
    }
}
