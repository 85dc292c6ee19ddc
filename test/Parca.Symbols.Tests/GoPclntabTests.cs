using System.Globalization;
using Parca.Symbols.Debuginfo;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Tests;

/// <summary>Go binaries built here with Debian's Go (offline), stripped, named from .gopclntab as `go tool addr2line` names them.</summary>
public sealed class GoPclntabTests
{
    private const string Program = """
        package main

        import (
        	"fmt"
        	"os"
        	"strings"
        )

        type worker struct{ n int }

        //go:noinline
        func (w *worker) spin(k int) int {
        	for i := 0; i < k; i++ {
        		w.n = w.n*31 + i
        	}
        	return w.n
        }

        //go:noinline
        func outer(k int) int { w := &worker{}; return w.spin(k) + len(strings.Repeat("x", k%7)) }

        func main() {
        	fmt.Fprintln(os.Stdout, outer(len(os.Args)*1000))
        }
        """;

    [Fact]
    public void Stripped_go_binary_names_match_go_tool_addr2line()
    {
        var binary = BuildStripped("gostripped");
        var elf = ElfFile.Open(binary);
        Assert.True(elf.IsStripped);
        var result = NativeSymbols.Load(elf, File.OpenHandle(binary), binary, "/", []);
        Assert.Empty(result.Skipped);
        Assert.StartsWith("gopclntab", result.Sources, StringComparison.Ordinal);
        Assert.True(result.Table.Count > 1000, $"{result.Table.Count} functions");

        // Addresses inside functions, chosen from the unstripped twin's symbol table (same layout: -s only drops .symtab).
        var functions = Tools.Run("go", "tool nm -size -sort address " + binary + ".full").Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 4 && f[2] is "T" or "t")
            .Select(f => (Address: ulong.Parse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture), Size: ulong.Parse(f[1], CultureInfo.InvariantCulture), Name: string.Join(' ', f[3..])))
            .Where(f => f.Size > 1)
            .ToList();
        var step = Math.Max(1, functions.Count / 500);
        var addresses = functions.Where((_, i) => i % step == 0).Select(f => f.Address + (f.Size / 2)).ToList();
        addresses.Add(functions.Single(f => f.Name == "main.(*worker).spin").Address + 4);
        addresses.Add(functions.Single(f => f.Name == "main.outer").Address + 1);

        var output = Tools.Run("go", "tool addr2line " + binary, string.Join('\n', addresses.Select(a => "0x" + a.ToString("x", CultureInfo.InvariantCulture))) + "\n")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(addresses.Count * 2, output.Length); // function, then file:line
        var differences = new List<string>();
        for (var i = 0; i < addresses.Count; i++)
        {
            var ours = result.Table.TryLookup(addresses[i], out var name, out _) ? name : "?";
            if (ours != output[i * 2])
            {
                differences.Add($"0x{addresses[i]:x}: ours {ours}, go tool addr2line {output[i * 2]}");
            }
        }

        Assert.True(differences.Count == 0, $"{differences.Count} of {addresses.Count} differ:\n" + string.Join('\n', differences.Take(30)));
        Assert.Contains("main.(*worker).spin", output);
    }

    internal static string BuildStripped(string name)
    {
        var dir = Tools.TempDirectory(name);
        File.WriteAllText(Path.Combine(dir, "main.go"), Program);
        File.WriteAllText(Path.Combine(dir, "go.mod"), "module example.com/" + name + "\n\ngo 1.19\n");
        Tools.Bash(dir, $"""
            export GOPROXY=off GOFLAGS=-mod=mod GOCACHE={Path.Combine(Path.GetTempPath(), "parca-symbols-tests-gocache")} HOME={dir}
            go build -o {name}.full .
            go build -ldflags=-s -o {name} .
            """);
        return Path.Combine(dir, name);
    }
}
