using BenchmarkDotNet.Attributes;
using Parca.Symbols.Demangling;
using Parca.Symbols.Elf;
using Parca.Symbols.Symbolization;

namespace Parca.Benchmarks.Symbols;

/// <summary>
/// Server-side symbolization throughput on libc's debug file (libc6-dbg, DWARF 5): 10,000 addresses spread over
/// .text, cold (open the file, index its units, decode the units the addresses hit) and warm (file open and units
/// decoded, as after the first query). The side-by-side peers are `addr2line -i -f` and `eu-addr2line -i -f` on the
/// same address list (bench/README.md has the commands and results).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class DwarfSymbolizationBenchmarks
{
    public const int Addresses = 10_000;
    private string _debugFile = "";
    private ulong[] _addresses = [];
    private DebugFileSymbolizer _warm = null!;
    private readonly List<SymbolizedFrame> _frames = new(8);

    [GlobalSetup]
    public void Setup()
    {
        var id = ElfFile.Open("/usr/lib/x86_64-linux-gnu/libc.so.6").BuildId!;
        _debugFile = $"/usr/lib/debug/.build-id/{id[..2]}/{id[2..]}.debug";
        var text = ElfFile.Open(_debugFile).Sections.First(s => s.Name == ".text");
        _addresses = new ulong[Addresses];
        var step = text.Size / Addresses;
        for (var i = 0; i < Addresses; i++)
        {
            _addresses[i] = text.Address + ((ulong)i * step);
        }

        File.WriteAllLines(Path.Combine(Path.GetTempPath(), "parca-bench-libc-addresses.txt"), _addresses.Select(a => "0x" + a.ToString("x", System.Globalization.CultureInfo.InvariantCulture)));
        _warm = DebugFileSymbolizer.Open(_debugFile);
        Run(_warm);
    }

    [Benchmark(OperationsPerInvoke = Addresses)]
    public int Cold() => Run(DebugFileSymbolizer.Open(_debugFile));

    [Benchmark(OperationsPerInvoke = Addresses)]
    public int Warm() => Run(_warm);

    private int Run(DebugFileSymbolizer symbolizer)
    {
        var n = 0;
        foreach (var a in _addresses)
        {
            _frames.Clear();
            n += symbolizer.Symbolize(a, DemangleMode.Simple, _frames);
        }

        return n;
    }
}
