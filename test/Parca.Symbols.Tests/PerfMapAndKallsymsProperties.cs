using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Parca.Symbols.Jit;
using Parca.Symbols.Kernel;

namespace Parca.Symbols.Tests;

/// <summary>
/// Property and fuzz tests of the perf map and /proc/kallsyms parsers: arbitrary and byte-mutated input (corpus/)
/// never throws; generated files resolve every symbol they hold.
/// </summary>
public sealed class PerfMapAndKallsymsProperties
{
    private static readonly string s_corpus = Path.Combine(AppContext.BaseDirectory, "corpus");

    [Property(MaxTest = 500)]
    public void Any_perf_map_text_is_parsed_without_throwing(string? text, ulong probe)
    {
        var map = PerfMap.Parse(new StringReader(text ?? ""));
        _ = map.TryLookup(probe, out _, out _);
    }

    [Property(MaxTest = 300)]
    public void Mutated_corpus_files_are_parsed_without_throwing(NonNegativeInt pick, int[]? positions, byte[]? values, ulong probe)
    {
        var files = Directory.GetFiles(s_corpus, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        var path = files[pick.Get % files.Length];
        var bytes = File.ReadAllBytes(path);
        positions ??= [];
        values ??= [];
        for (var i = 0; i < Math.Min(positions.Length, values.Length) && bytes.Length > 0; i++)
        {
            bytes[(int)((uint)positions[i] % (uint)bytes.Length)] = values[i];
        }

        if (path.Contains("perfmap", StringComparison.Ordinal))
        {
            _ = PerfMap.Parse(new StringReader(Encoding.UTF8.GetString(bytes))).TryLookup(probe, out _, out _);
        }
        else
        {
            _ = Kallsyms(bytes).Lookup(probe);
        }
    }

    [Property(MaxTest = 200)]
    public void Any_kallsyms_bytes_are_parsed_without_throwing(byte[]? bytes, ulong probe) =>
        _ = Kallsyms(bytes ?? []).Lookup(probe);

    [Property(MaxTest = 300)]
    public bool Every_generated_perf_map_entry_resolves_to_its_name(ulong baseAddress, ushort[]? sizes)
    {
        sizes ??= [];
        var start = baseAddress >> 8; // room above for the entries
        var text = new StringBuilder();
        var entries = new List<(ulong Start, ulong Size, string Name)>();
        foreach (var s in sizes)
        {
            var size = (ulong)s + 1;
            var name = $"[Tier1] N{entries.Count}::M(int, string)";
            text.Append(CultureInfo.InvariantCulture, $"{start:x} {size:x} {name}\n");
            entries.Add((start, size, name));
            start += size + (s % 3 == 0 ? 16UL : 0); // gaps and adjacent entries
        }

        var map = PerfMap.Parse(new StringReader(text.ToString()));
        return entries.All(e =>
            map.TryLookup(e.Start, out var first, out _) && first == e.Name
            && map.TryLookup(e.Start + e.Size - 1, out var last, out _) && last == e.Name);
    }

    [Property(MaxTest = 100)]
    public bool Every_generated_kallsyms_text_symbol_resolves_to_its_name(ushort[]? gaps)
    {
        gaps ??= [];
        var address = 0xffffffff81000000UL;
        var text = new StringBuilder();
        var symbols = new List<(ulong Address, string Name)>();
        foreach (var g in gaps)
        {
            var name = g % 5 == 0 ? $"fn_{symbols.Count}\t[mod{g % 7}]" : $"fn_{symbols.Count}";
            text.Append(CultureInfo.InvariantCulture, $"{address:x} {(g % 2 == 0 ? 'T' : 't')} {name}\n");
            symbols.Add((address, name.Replace('\t', ' ')));
            address += (ulong)g + 1;
        }

        var kernel = Kallsyms(Encoding.UTF8.GetBytes(text.ToString()));
        return symbols.All(s => kernel.Lookup(s.Address) == s.Name);
    }

    private static KernelSymbols Kallsyms(byte[] bytes)
    {
        var dir = Directory.CreateTempSubdirectory("parca-kallsyms-");
        try
        {
            var kallsyms = Path.Combine(dir.FullName, "kallsyms");
            var modules = Path.Combine(dir.FullName, "modules");
            File.WriteAllBytes(kallsyms, bytes);
            File.WriteAllText(modules, "");
            return new KernelSymbols(kallsyms, modules);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
