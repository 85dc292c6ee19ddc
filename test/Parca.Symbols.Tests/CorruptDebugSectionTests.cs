using System.Buffers.Binary;
using Parca.Symbols.Debuginfo;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Tests;

/// <summary>
/// Corrupt and truncated .gopclntab, .gnu_debugdata and .gnu_debuglink from a generator: every one is a counted skip
/// whose message names the file and the section, never an exception, and the file's other symbols still load.
/// </summary>
public sealed class CorruptDebugSectionTests
{
    [Fact]
    public void Gopclntab_with_an_impossible_function_count_is_skipped_naming_the_file()
    {
        var binary = GoPclntabTests.BuildStripped("gocorrupt");
        var copy = Mutate(binary, ".gopclntab", "count", s => BinaryPrimitives.WriteUInt64LittleEndian(s[8..], ulong.MaxValue / 3));
        var result = Load(copy);
        var skip = Assert.Single(result.Skipped);
        Assert.StartsWith(copy + ": .gopclntab: ", skip, StringComparison.Ordinal);
        Assert.Equal(0, result.Table.Count);
    }

    [Fact]
    public void Truncated_gnu_debugdata_is_skipped_and_dynsym_still_names_exports()
    {
        var (binary, _) = DebugFileSymbolsTests.BuildMiniDebugInfoProgram("minicorrupt");
        var copy = Mutate(binary, ".gnu_debugdata", "truncated", s => s[(s.Length / 2)..].Clear());
        var result = Load(copy);
        var skip = Assert.Single(result.Skipped);
        Assert.StartsWith(copy + ": .gnu_debugdata", skip, StringComparison.Ordinal);
        Assert.Contains("dynsym", result.Sources, StringComparison.Ordinal);
        Assert.DoesNotContain("gnu_debugdata", result.Sources, StringComparison.Ordinal);
    }

    [Fact]
    public void Debuglink_without_a_terminated_name_is_skipped_naming_the_file()
    {
        var (binary, _) = DebugFileSymbolsTests.BuildMiniDebugInfoProgram("linkcorrupt");
        var dir = Path.GetDirectoryName(binary)!;
        Tools.Bash(dir, "objcopy --add-gnu-debuglink=full.debug p p.linked");
        var copy = Mutate(Path.Combine(dir, "p.linked"), ".gnu_debuglink", "nonul", s => s.Fill((byte)'a'));
        var result = Load(copy);
        Assert.Contains(copy + ": .gnu_debuglink: no NUL-terminated file name", result.Skipped);
        Assert.Contains("gnu_debugdata", result.Sources, StringComparison.Ordinal); // the next source still counts
    }

    [Fact]
    public void Random_damage_to_the_three_sections_never_throws_and_every_skip_names_the_file()
    {
        var go = GoPclntabTests.BuildStripped("gofuzz");
        var (mini, _) = DebugFileSymbolsTests.BuildMiniDebugInfoProgram("minifuzz");
        Tools.Bash(Path.GetDirectoryName(mini)!, "objcopy --add-gnu-debuglink=full.debug p p.linked");
        var targets = new[] { (go, ".gopclntab"), (mini, ".gnu_debugdata"), (mini + ".linked", ".gnu_debuglink") };
        var random = new Random(20261207);
        var skips = 0;
        for (var round = 0; round < 60; round++)
        {
            foreach (var (file, section) in targets)
            {
                var copy = Mutate(file, section, "fuzz", s => Damage(s, random));
                var result = Load(copy); // must not throw
                foreach (var skip in result.Skipped)
                {
                    Assert.Contains(copy, skip, StringComparison.Ordinal);
                    skips++;
                }

                File.Delete(copy);
            }
        }

        Assert.True(skips >= 60, $"only {skips} skips in 180 damaged files: the generator is not reaching the parsers");
    }

    private static void Damage(Span<byte> section, Random random)
    {
        switch (random.Next(4))
        {
            case 0: // truncation: the tail is gone
                section[random.Next(section.Length)..].Clear();
                break;
            case 1: // scattered bit flips
                for (var i = 0; i < 1 + random.Next(16); i++)
                {
                    section[random.Next(section.Length)] ^= (byte)(1 << random.Next(8));
                }

                break;
            case 2: // a header word replaced by a large value
                var at = random.Next(Math.Min(section.Length, 80) / 4) * 4;
                BinaryPrimitives.WriteUInt32LittleEndian(section[at..], (uint)random.Next() | 0x80000000);
                break;
            default: // a run of random bytes
                var start = random.Next(section.Length);
                random.NextBytes(section[start..Math.Min(section.Length, start + 64)]);
                break;
        }
    }

    private static NativeSymbolsResult Load(string file) =>
        NativeSymbols.Load(ElfFile.Open(file), File.OpenHandle(file), file, "/", []);

    /// <summary>A copy of <paramref name="file"/> with the bytes of <paramref name="section"/> changed in place.</summary>
    private static string Mutate(string file, string section, string tag, SpanAction mutate)
    {
        var header = ElfFile.Open(file).Sections.Single(s => s.Name == section);
        var bytes = File.ReadAllBytes(file);
        mutate(bytes.AsSpan((int)header.Offset, (int)header.Size));
        var copy = $"{file}.{tag}.{Guid.NewGuid():N}";
        File.WriteAllBytes(copy, bytes);
        return copy;
    }

    private delegate void SpanAction(Span<byte> section);
}
