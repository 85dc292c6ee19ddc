using BenchmarkDotNet.Attributes;
using Parca.Symbols.Demangling;
using Parca.Symbols.Elf;
using Parca.Symbols.Symbolization;

namespace Parca.Benchmarks.Symbols;

/// <summary>
/// Server-side symbolization on the largest debug file of the machine (libcoreclr.so's debug file is not obtainable
/// here: Microsoft publishes it only on its symbol server): 10,000 addresses spread over its .text, cold (open,
/// index, decode the units hit) and warm. Setup prints (and writes to /tmp/parca-bench-large-memory.txt) the memory
/// one loaded file holds (DWARF sections and symbol table, what the server's open-file budget counts) and writes the
/// address list for the addr2line / eu-addr2line side by side (bench/README.md).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class LargeDebugFileBenchmarks
{
    public const int Addresses = 10_000;
    private string _debugFile = "";
    private ulong[] _addresses = [];
    private DebugFileSymbolizer _warm = null!;
    private readonly List<SymbolizedFrame> _frames = new(8);

    [GlobalSetup]
    public void Setup()
    {
        _debugFile = Directory.EnumerateFiles("/usr/lib/debug", "*.debug", SearchOption.AllDirectories)
            .OrderByDescending(f => new FileInfo(f).Length).First();
        var text = ElfFile.Open(_debugFile).Sections.First(s => s.Name == ".text");
        _addresses = new ulong[Addresses];
        var step = text.Size / Addresses;
        for (var i = 0; i < Addresses; i++)
        {
            _addresses[i] = text.Address + ((ulong)i * step);
        }

        File.WriteAllLines(Path.Combine(Path.GetTempPath(), "parca-bench-large-addresses.txt"), _addresses.Select(a => "0x" + a.ToString("x", System.Globalization.CultureInfo.InvariantCulture)));
        var before = GC.GetTotalMemory(forceFullCollection: true);
        _warm = DebugFileSymbolizer.Open(_debugFile);
        Run(_warm);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var line = $"// large debug file {_debugFile}: {new FileInfo(_debugFile).Length:N0} bytes on disk, " +
            $"{_warm.Bytes:N0} bytes held (DWARF + symbols), managed heap +{after - before:N0} bytes after 10k lookups";
        Console.WriteLine(line);
        // The in-process toolchain does not show setup output: the line is also kept beside the address list.
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "parca-bench-large-memory.txt"), line + "\n");
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
