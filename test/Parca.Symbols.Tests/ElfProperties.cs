using FsCheck;
using FsCheck.Xunit;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Tests;

/// <summary>
/// Fuzz property of the ELF reader the root agent runs on other users' executables: a real binary with bytes
/// overwritten in its headers, section table and symbol tables either reads (headers, build id, symbols) or fails
/// with <see cref="InvalidDataException"/> naming the file; never another exception, never a huge allocation.
/// </summary>
public sealed class ElfProperties
{
    // Debian's coreutils binary, present on every machine these tests run on (a real, stripped, PIE executable).
    private static readonly byte[] s_elf = File.ReadAllBytes("/usr/bin/true");
    private static readonly ElfFile s_parsed = ElfFile.Read(s_elf, "true");

    [Property(MaxTest = 1000)]
    public void Mutated_executables_read_or_fail_with_invalid_data(int[]? positions, byte[]? values, bool sectionTable)
    {
        var bytes = (byte[])s_elf.Clone();
        positions ??= [];
        values ??= [];
        // Aim at what the reader interprets: the ELF header and program headers (first 4 KiB), or the section table,
        // .dynsym and .dynstr (where lengths and offsets live).
        var dynsym = s_parsed.Sections.First(s => s.Name == ".dynsym");
        for (var i = 0; i < Math.Min(positions.Length, values.Length); i++)
        {
            var p = (uint)positions[i];
            var at = sectionTable
                ? (i % 2 == 0 ? (long)(p % (uint)Math.Min(4096, bytes.Length)) : (long)(dynsym.Offset + (p % dynsym.Size)))
                : bytes.Length - 1 - (p % 2048);
            bytes[at] = values[i];
        }

        Exercise(bytes);
    }

    [Property(MaxTest = 300)]
    public void Random_bytes_after_an_elf_magic_fail_with_invalid_data(byte[]? tail)
    {
        var bytes = new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0 }.Concat(tail ?? []).ToArray();
        Exercise(bytes);
    }

    private static void Exercise(byte[] bytes)
    {
        try
        {
            var elf = ElfFile.Read(bytes, "fuzzed");
            var builder = new SymbolTableBuilder();
            var source = new MemoryElfSource(bytes);
            if (!elf.AddSymbols(source, "fuzzed", ElfFile.SymtabKind, builder))
            {
                elf.AddSymbols(source, "fuzzed", ElfFile.DynsymKind, builder);
            }

            var table = builder.Build();
            _ = table.TryLookup(0x1000, out _, out _);
            _ = elf.ReadSection(source, "fuzzed", ".note.gnu.build-id", 1 << 20);
            _ = elf.TryFileOffsetToAddress(0x1000, out _);
        }
        catch (InvalidDataException e)
        {
            Assert.StartsWith("fuzzed", e.Message, StringComparison.Ordinal);
        }
    }
}
