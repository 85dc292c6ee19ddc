using Parca.Symbols.Dwarf;
using Parca.Symbols.Elf;
using Parca.Symbols.Symbolization;

namespace Parca.Symbols.Tests;

/// <summary>
/// The DWARF reader on hostile input: every debug file under /usr/lib/debug, random byte corruptions and
/// truncations of a gcc -O2 program's DWARF sections, and crafted cases (compression bombs, reserved lengths, a self-referencing abstract origin). The only acceptable failures are
/// <see cref="DwarfException"/> / <see cref="InvalidDataException"/> with a message; anything else is a bug.
/// </summary>
public sealed class DwarfFuzzTests
{
    private static readonly string[] s_sections = [".debug_info", ".debug_abbrev", ".debug_line", ".debug_rnglists", ".debug_str_offsets", ".debug_addr", ".debug_line_str"];

    [Fact]
    public void Every_debug_file_under_usr_lib_debug_opens_and_answers_lookups()
    {
        // All of them (322 files, 47 MB here: about 10 s on the loaded CI machine), 200 addresses each over .text.
        var files = Directory.EnumerateFiles("/usr/lib/debug", "*.debug", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count > 0, "no debug files under /usr/lib/debug (scripts/bootstrap.sh test installs libc6-dbg and python3.11-dbg)");
        var frames = new List<SymbolizedFrame>();
        var named = 0;
        var refused = new List<string>();
        foreach (var file in files)
        {
            var symbolizer = Open(file, refused);
            if (symbolizer is null)
            {
                continue;
            }

            var text = ElfFile.Open(file).Sections.FirstOrDefault(s => s.Name == ".text");
            if (text is null)
            {
                continue;
            }

            var step = Math.Max(1, text.Size / 200);
            for (var a = text.Address; a < text.Address + text.Size; a += step)
            {
                frames.Clear();
                symbolizer.Symbolize(a, Demangling.DemangleMode.Simple, frames);
                named += frames.Count > 0 ? 1 : 0;
            }
        }

        // Debian's own files are well formed: refusing one is a gap in the reader, not hostile input.
        Assert.True(refused.Count == 0, $"{refused.Count} of {files.Count} debug files refused:\n" + string.Join('\n', refused));
        Assert.True(named > 0, "no address of any debug file was named");
    }

    [Fact]
    public void Random_corruptions_of_a_gcc_program_dwarf_fail_only_with_dwarf_errors()
    {
        var dir = Tools.TempDirectory("fuzz");
        Tools.Bash(dir, $"cat > p.c <<'C'\n{DwarfFileTests.InlineProgram}\nC\ngcc -O2 -g -Wl,--build-id -o p p.c");
        var original = File.ReadAllBytes(Path.Combine(dir, "p"));
        var elf = ElfFile.Open(Path.Combine(dir, "p"));
        var text = elf.Sections.First(s => s.Name == ".text");
        var targets = elf.Sections.Where(s => s_sections.Contains(s.Name) && s.Size > 0).ToList();
        var random = new Random(20261207);
        var path = Path.Combine(dir, "mutant");
        var rejected = 0;
        for (var round = 0; round < 300; round++)
        {
            var bytes = (byte[])original.Clone();
            var section = targets[random.Next(targets.Count)];
            var flips = 1 + random.Next(8);
            for (var f = 0; f < flips; f++)
            {
                var at = (int)section.Offset + random.Next((int)section.Size);
                bytes[at] = random.Next(4) switch
                {
                    0 => 0xff,
                    1 => 0x00,
                    2 => (byte)(bytes[at] ^ (1 << random.Next(8))),
                    _ => (byte)random.Next(256),
                };
            }

            File.WriteAllBytes(path, round % 10 == 9 ? bytes[..(int)(section.Offset + (ulong)random.Next((int)section.Size))] : bytes);
            rejected += Exercise(path, text.Address, text.Size) ? 0 : 1;
        }

        Assert.True(rejected > 0, "no corruption was detected at all: the mutations did not reach the parser");
    }

    [Fact]
    public void Compressed_section_claiming_a_huge_size_is_refused_before_inflating()
    {
        var dir = Tools.TempDirectory("bomb");
        Tools.Bash(dir, $"cat > p.c <<'C'\n{DwarfFileTests.InlineProgram}\nC\ngcc -O2 -g -Wl,--build-id -o p p.c && objcopy --compress-debug-sections=zlib p pz");
        var path = Path.Combine(dir, "pz");
        var info = ElfFile.Open(path).Sections.First(s => s.Name == ".debug_info");
        Assert.True((info.Flags & 0x800) != 0, "objcopy did not compress .debug_info");

        // Elf64_Chdr: ch_type, ch_reserved, ch_size (offset 8), ch_addralign.
        var bytes = File.ReadAllBytes(path);
        BitConverter.TryWriteBytes(bytes.AsSpan((int)info.Offset + 8), 1UL << 40);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DwarfException>(() => DebugFileSymbolizer.Open(path));
        Assert.Contains(".debug_info: declared uncompressed size 1099511627776 exceeds the", e.Message, StringComparison.Ordinal);

        // A size larger than what the stream holds (but within limits) is caught after inflating.
        BitConverter.TryWriteBytes(bytes.AsSpan((int)info.Offset + 8), 1UL << 20);
        File.WriteAllBytes(path, bytes);
        var short_ = Assert.Throws<DwarfException>(() => DebugFileSymbolizer.Open(path));
        Assert.Contains("header says 1048576", short_.Message, StringComparison.Ordinal);

        // The untouched compressed file reads like the uncompressed one.
        var good = Path.Combine(dir, "pz-good");
        Tools.Bash(dir, "objcopy --compress-debug-sections=zlib p pz-good");
        var text = ElfFile.Open(good).Sections.First(s => s.Name == ".text");
        var (same, total, diffs) = DwarfFileTests.Compare(good, Enumerable.Range(0, (int)text.Size).Select(i => text.Address + (ulong)i).ToList());
        Assert.True(same == total && total > 100, string.Join("\n", diffs.Take(5)));
    }

    [Fact]
    public void Reserved_unit_length_is_reported_with_the_file_and_offset()
    {
        var dir = Tools.TempDirectory("reserved");
        Tools.Bash(dir, $"cat > p.c <<'C'\n{DwarfFileTests.InlineProgram}\nC\ngcc -O2 -g -Wl,--build-id -o p p.c");
        var path = Path.Combine(dir, "p");
        var info = ElfFile.Open(path).Sections.First(s => s.Name == ".debug_info");
        var bytes = File.ReadAllBytes(path);
        BitConverter.TryWriteBytes(bytes.AsSpan((int)info.Offset), 0xfffffff3u);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<DwarfException>(() => DebugFileSymbolizer.Open(path));
        Assert.Equal($"{path}: reserved initial length 0xfffffff3", e.Message);
    }

    /// <summary>Opens and looks up every text address; false when the file was refused (with a DWARF or ELF error).</summary>
    private static bool Exercise(string path, ulong start, ulong size)
    {
        var symbolizer = Open(path);
        if (symbolizer is null)
        {
            return false;
        }

        var frames = new List<SymbolizedFrame>();
        for (var a = start; a < start + size; a++)
        {
            frames.Clear();
            symbolizer.Symbolize(a, Demangling.DemangleMode.Simple, frames);
        }

        return symbolizer.Errors.Count == 0;
    }

    private static DebugFileSymbolizer? Open(string path, List<string>? refused = null)
    {
        try
        {
            return DebugFileSymbolizer.Open(path);
        }
        catch (DwarfException e)
        {
            Assert.False(string.IsNullOrEmpty(e.Message));
            refused?.Add(e.Message);
            return null;
        }
        catch (InvalidDataException e)
        {
            Assert.False(string.IsNullOrEmpty(e.Message));
            refused?.Add(e.Message);
            return null;
        }
    }
}
