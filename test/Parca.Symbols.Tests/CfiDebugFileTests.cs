using System.Globalization;
using Parca.Symbols.Cfi;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Tests;

/// <summary>
/// Code compiled without unwind tables has its CFI only in .debug_frame, which `strip --strip-debug` moves into the
/// separate debug file: the table builder takes it from there for the code .eh_frame does not cover.
/// </summary>
public sealed class CfiDebugFileTests
{
    private const string Source = """
        static volatile unsigned long sink;
        __attribute__((noinline)) unsigned long work(unsigned long n) { unsigned long x = n; for (int i = 0; i < 1000; i++) x = x * 3 + 1; return x; }
        __attribute__((noinline)) unsigned long outer(unsigned long n) { return work(n) + 1; }
        int main(void) { sink = outer(sink); return 0; }
        """;

    [Fact]
    public void Debug_frame_of_the_separate_debug_file_covers_the_functions_eh_frame_does_not()
    {
        var (binary, debug) = BuildStripped("debugframe");
        var work = SymbolAddress(binary, "work");

        var alone = UnwindTableBuilder.Build(binary, out var aloneInfo);
        Assert.Equal(0, aloneInfo.DebugFrameFdes);
        Assert.Equal(CfaRule.Invalid, RowAt(alone, work)?.Cfa ?? CfaRule.Invalid);

        using var handle = File.OpenHandle(binary);
        using var debugHandle = File.OpenHandle(debug);
        var rows = UnwindTableBuilder.Build(handle, ElfFile.Read(handle, binary), binary, out var info, (debugHandle, ElfFile.Read(debugHandle, debug), debug));
        Assert.True(info.DebugFrameFdes >= 3, $"{info.DebugFrameFdes} FDEs from the debug file's .debug_frame");
        var row = RowAt(rows, work);
        Assert.NotNull(row);
        Assert.Equal(CfaRule.Rsp, row.Value.Cfa);
        Assert.Equal(8, row.Value.CfaOffset); // on entry the return address is all the frame holds
    }

    [Fact]
    public void Corrupt_debug_frame_in_the_debug_file_throws_InvalidDataException_naming_the_debug_file()
    {
        var (binary, debug) = BuildStripped("debugframecorrupt");
        var elf = ElfFile.Open(debug);
        var section = elf.Sections.Single(s => s.Name == ".debug_frame");
        using (var stream = new FileStream(debug, FileMode.Open, FileAccess.Write))
        {
            stream.Position = (long)section.Offset;
            stream.Write(new byte[] { 0xf0, 0xff, 0xff, 0x7f }); // the first CIE claims 2 GB
        }

        using var handle = File.OpenHandle(binary);
        using var debugHandle = File.OpenHandle(debug);
        var e = Assert.Throws<InvalidDataException>(() =>
            UnwindTableBuilder.Build(handle, ElfFile.Read(handle, binary), binary, out _, (debugHandle, ElfFile.Read(debugHandle, debug), debug)));
        Assert.Contains(debug, e.Message, StringComparison.Ordinal);
    }

    private static (string Binary, string Debug) BuildStripped(string name)
    {
        var dir = Tools.TempDirectory(name);
        File.WriteAllText(Path.Combine(dir, "p.c"), Source);
        Tools.Bash(dir, "gcc -O2 -g -fno-asynchronous-unwind-tables -fno-unwind-tables -o p p.c && objcopy --only-keep-debug p p.debug && strip --strip-debug p");
        return (Path.Combine(dir, "p"), Path.Combine(dir, "p.debug"));
    }

    private static ulong SymbolAddress(string binary, string name)
    {
        var line = Tools.Run("nm", binary).Split('\n').First(l => l.EndsWith(" " + name, StringComparison.Ordinal));
        return ulong.Parse(line.AsSpan(0, 16), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }

    private static UnwindRow? RowAt(UnwindRow[] rows, ulong address)
    {
        UnwindRow? found = null;
        foreach (var r in rows)
        {
            if (r.Pc <= address)
            {
                found = r;
            }
        }

        return found;
    }
}
