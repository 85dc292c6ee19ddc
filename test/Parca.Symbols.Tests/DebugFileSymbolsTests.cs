using System.Globalization;
using Parca.Symbols.Debuginfo;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Tests;

/// <summary>
/// Names from separate debug files (build id, .gnu_debuglink) and MiniDebugInfo, checked against elfutils and
/// binutils on Debian's own libc (libc6-dbg) and python3.11 (python3.11-dbg), and on programs built here.
/// </summary>
public sealed class DebugFileSymbolsTests
{
    internal const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    private const string Program = """
        #include <stdio.h>
        __attribute__((noinline)) static int hidden_helper(int x) { return x * 7 + 3; }
        __attribute__((noinline)) static int second_helper(int x) { return hidden_helper(x) - 1; }
        int main(int argc, char **argv) { printf("%d\n", second_helper(argc)); return 0; }
        """;

    [Fact]
    public void Libc_with_libc6_dbg_names_libc_start_call_main_from_the_build_id_debug_file()
    {
        var result = Load(Libc);
        var buildId = ElfFile.Open(Libc).BuildId!;
        var expected = $"/usr/lib/debug/.build-id/{buildId[..2]}/{buildId[2..]}.debug";
        Assert.True(File.Exists(expected), "libc6-dbg is not installed (scripts/bootstrap.sh test installs it): " + expected);
        Assert.Equal(expected, result.DebugFile);
        Assert.Empty(result.Skipped);

        var nm = Tools.Run("nm", "--defined-only " + expected);
        var address = NmAddress(nm, "__libc_start_call_main");
        Assert.True(result.Table.TryLookup(address + 0x10, out var name, out var start));
        Assert.Equal("__libc_start_call_main", name);
        Assert.Equal(address, start);

        // Without the debug directory only .dynsym is left, which does not have it.
        var plain = NativeSymbols.Load(ElfFile.Open(Libc), File.OpenHandle(Libc), Libc, "/", []);
        Assert.False(plain.Table.TryLookup(address + 0x10, out var without, out _) && without == "__libc_start_call_main");
    }

    [Fact]
    public void Libc_names_match_eu_addr2line_for_addresses_across_the_library() => CompareWithElfutils(Libc, 400);

    [Fact]
    public void Python3_names_match_eu_addr2line_with_python3_11_dbg() => CompareWithElfutils("/usr/bin/python3.11", 400);

    [Fact]
    public void Libc_function_entries_match_binutils_addr2line()
    {
        // At a function's first instruction binutils names the DWARF subprogram, often by another alias of the same
        // entry (__dladdr for dladdr): ours must be that name or one of the symbols that start there.
        var table = Load(Libc).Table;
        var entries = FunctionsOf(DebugFileOf(Libc)).Where((_, i) => i % 20 == 0).ToList();
        var output = Tools.Run("addr2line", "-f -e " + Libc, string.Join('\n', entries.Select(e => "0x" + e.Address.ToString("x", CultureInfo.InvariantCulture))) + "\n")
            .Split('\n');
        int same = 0, compared = 0;
        var differences = new List<string>();
        for (var i = 0; i < entries.Count; i++)
        {
            var theirs = output[i * 2];
            if (theirs == "??" || !entries[i].Names.Contains(theirs))
            {
                continue; // DWARF knows it under another name than every symbol at that address
            }

            compared++;
            Assert.True(table.TryLookup(entries[i].Address, out var ours, out _));
            if (ours == theirs || entries[i].Names.Contains(ours))
            {
                same++;
            }
            else
            {
                differences.Add($"0x{entries[i].Address:x}: ours {ours}, addr2line {theirs}");
            }
        }

        Assert.True(compared >= entries.Count / 2, $"only {compared} of {entries.Count} comparable");
        Assert.True(differences.Count == 0, string.Join('\n', differences));
    }

    [Fact]
    public void Debuglink_next_to_the_stripped_file_is_used_when_its_crc_matches_and_skipped_when_not()
    {
        var dir = Tools.TempDirectory("debuglink");
        File.WriteAllText(Path.Combine(dir, "p.c"), Program);
        Tools.Bash(dir, """
            clang -O1 -g -Wl,--build-id=none -o p p.c
            nm --defined-only p > p.nm
            objcopy --only-keep-debug p p.debug
            strip --strip-all p
            objcopy --add-gnu-debuglink=p.debug p
            """);
        var binary = Path.Combine(dir, "p");
        var helper = NmAddress(File.ReadAllText(Path.Combine(dir, "p.nm")), "hidden_helper");
        var result = NativeSymbols.Load(ElfFile.Open(binary), File.OpenHandle(binary), binary, "/", []);
        Assert.Equal(Path.Combine(dir, "p.debug"), result.DebugFile);
        Assert.True(result.Table.TryLookup(helper + 1, out var name, out _));
        Assert.Equal("hidden_helper", name);

        // A debug file that is not the one the link was made for (one byte changed): CRC mismatch, counted skip naming it.
        var bytes = File.ReadAllBytes(Path.Combine(dir, "p.debug"));
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(Path.Combine(dir, "p.debug"), bytes);
        result = NativeSymbols.Load(ElfFile.Open(binary), File.OpenHandle(binary), binary, "/", []);
        Assert.Null(result.DebugFile);
        var skip = Assert.Single(result.Skipped);
        Assert.Contains(Path.Combine(dir, "p.debug") + ": CRC-32", skip, StringComparison.Ordinal);
        Assert.False(result.Table.TryLookup(helper + 1, out _, out _));
    }

    [Fact]
    public void Build_id_path_under_a_configured_directory_is_found_and_a_foreign_file_there_is_refused()
    {
        var dir = Tools.TempDirectory("buildid");
        File.WriteAllText(Path.Combine(dir, "p.c"), Program);
        Tools.Bash(dir, """
            clang -O1 -g -Wl,--build-id=sha1 -o p p.c
            nm --defined-only p > p.nm
            id=$(readelf -n p | sed -n 's/.*Build ID: //p')
            mkdir -p debug/.build-id/${id:0:2}
            objcopy --only-keep-debug p debug/.build-id/${id:0:2}/${id:2}.debug
            strip --strip-all p
            """);
        var binary = Path.Combine(dir, "p");
        var elf = ElfFile.Open(binary);
        var helper = NmAddress(File.ReadAllText(Path.Combine(dir, "p.nm")), "second_helper");
        var debugDir = Path.Combine(dir, "debug");
        var result = NativeSymbols.Load(elf, File.OpenHandle(binary), binary, "/", ["/nonexistent", debugDir]);
        Assert.Equal($"{debugDir}/.build-id/{elf.BuildId![..2]}/{elf.BuildId[2..]}.debug", result.DebugFile);
        Assert.True(result.Table.TryLookup(helper, out var name, out _));
        Assert.Equal("second_helper", name);

        // Another program's debug file under this build id: refused, named in the skip.
        var path = result.DebugFile!;
        File.Copy(DebugFileOf(Libc), path, overwrite: true);
        result = NativeSymbols.Load(elf, File.OpenHandle(binary), binary, "/", [debugDir]);
        Assert.Null(result.DebugFile);
        Assert.Contains(result.Skipped, s => s.StartsWith(path + ": build id", StringComparison.Ordinal));
    }

    [Fact]
    public void MiniDebugInfo_in_gnu_debugdata_names_the_static_functions_of_a_stripped_binary()
    {
        var (binary, helper) = BuildMiniDebugInfoProgram("minidebug");
        Assert.True(ElfFile.Open(binary).IsStripped);
        var result = NativeSymbols.Load(ElfFile.Open(binary), File.OpenHandle(binary), binary, "/", []);
        Assert.Empty(result.Skipped);
        Assert.Contains("gnu_debugdata", result.Sources, StringComparison.Ordinal);
        Assert.True(result.Table.TryLookup(helper + 2, out var name, out _));
        Assert.Equal("hidden_helper", name);
        Assert.Equal(Tools.Run("eu-addr2line", $"-S -e {binary} 0x{helper + 2:x}").Split('+')[0], name);
    }

    internal static (string Binary, ulong HelperAddress) BuildMiniDebugInfoProgram(string name)
    {
        var dir = Tools.TempDirectory(name);
        File.WriteAllText(Path.Combine(dir, "p.c"), Program);

        // The recipe distributions use to make MiniDebugInfo: the function symbols .dynsym lacks, xz-compressed.
        Tools.Bash(dir, """
            clang -O1 -g -Wl,--build-id=sha1 -o p p.c
            nm --defined-only p > p.nm
            nm -D p --format=posix --defined-only | awk '{ print $1 }' | sort > dynsyms
            nm p --format=posix --defined-only | awk '{ if ($2 == "T" || $2 == "t") print $1 }' | sort > funcsyms
            comm -13 dynsyms funcsyms > keep
            objcopy --only-keep-debug p full.debug
            objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep full.debug mini
            strip --strip-all -R .comment p
            xz -f mini
            objcopy --add-section .gnu_debugdata=mini.xz p
            """);
        return (Path.Combine(dir, "p"), NmAddress(File.ReadAllText(Path.Combine(dir, "p.nm")), "hidden_helper"));
    }

    private static void CompareWithElfutils(string file, int count)
    {
        var debug = DebugFileOf(file);
        Assert.True(File.Exists(debug), "debug file missing (scripts/bootstrap.sh test installs libc6-dbg and python3.11-dbg): " + debug);
        var result = Load(file);
        Assert.Equal(debug, result.DebugFile);
        var functions = FunctionsOf(debug);
        var step = Math.Max(1, functions.Count / count);
        var addresses = new List<ulong>();
        for (var i = 0; i < functions.Count; i += step)
        {
            addresses.Add(functions[i].Address + (functions[i].Size / 2));
        }

        // eu-addr2line -S names the symbol (from the debug file it finds by build id itself) as name+offset.
        var output = Tools.Run("eu-addr2line", "-S -e " + file, string.Join('\n', addresses.Select(a => "0x" + a.ToString("x", CultureInfo.InvariantCulture))) + "\n")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(addresses.Count * 2, output.Length); // symbol line, then source line
        var differences = new List<string>();
        for (var i = 0; i < addresses.Count; i++)
        {
            var theirs = output[i * 2].Split('+')[0].Split('@')[0];
            var ours = result.Table.TryLookup(addresses[i], out var name, out _) ? name : "??";
            if (ours != theirs)
            {
                differences.Add($"0x{addresses[i]:x}: ours {ours}, eu-addr2line {output[i * 2]}");
            }
        }

        Assert.True(differences.Count == 0, $"{differences.Count} of {addresses.Count} differ:\n" + string.Join('\n', differences.Take(30)));
    }

    internal static NativeSymbolsResult Load(string file) =>
        NativeSymbols.Load(ElfFile.Open(file), File.OpenHandle(file), file, "/", ["/usr/lib/debug"]);

    internal static string DebugFileOf(string file)
    {
        var id = ElfFile.Open(file).BuildId!;
        return $"/usr/lib/debug/.build-id/{id[..2]}/{id[2..]}.debug";
    }

    /// <summary>Sized FUNC symbols of a file (readelf -sW), grouped by address with every name found there.</summary>
    private static List<(ulong Address, ulong Size, HashSet<string> Names)> FunctionsOf(string file)
    {
        var byAddress = new SortedDictionary<ulong, (ulong Size, HashSet<string> Names)>();
        foreach (var line in Tools.Run("readelf", "-sW " + file).Split('\n'))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8 || f[3] != "FUNC" || f[6] == "UND")
            {
                continue;
            }

            var address = ulong.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var size = f[2].StartsWith("0x", StringComparison.Ordinal)
                ? ulong.Parse(f[2][2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : ulong.Parse(f[2], CultureInfo.InvariantCulture);
            if (address == 0 || size < 2)
            {
                continue;
            }

            var name = f[7].Split('@')[0];
            if (!byAddress.TryGetValue(address, out var entry))
            {
                byAddress[address] = entry = (size, []);
            }

            entry.Names.Add(name);
        }

        return byAddress.Select(kv => (kv.Key, kv.Value.Size, kv.Value.Names)).ToList();
    }

    internal static ulong NmAddress(string nm, string symbol)
    {
        foreach (var line in nm.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = line.Split(' ');
            if (f[^1] == symbol)
            {
                return ulong.Parse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException(symbol + " not in nm output");
    }
}
