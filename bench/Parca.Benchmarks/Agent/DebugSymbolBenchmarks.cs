using BenchmarkDotNet.Attributes;
using Parca.Symbols.Debuginfo;
using Parca.Symbols.Elf;

namespace Parca.Benchmarks.Agent;

/// <summary>
/// libc named from its libc6-dbg debug file: loading the table (find by build id, read .symtab, sort), lookups on a
/// fresh table (each name decoded on first use: "cold") and on a warm one ("cached", no allocation).
/// </summary>
[MemoryDiagnoser]
public class DebugSymbolBenchmarks
{
    private const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    private const int Lookups = 4096;
    private ElfFile _elf = null!;
    private SymbolTable _warm = SymbolTable.Empty;
    private SymbolTable _fresh = SymbolTable.Empty;
    private ulong[] _addresses = [];

    [GlobalSetup]
    public void Setup()
    {
        _elf = ElfFile.Open(Libc);
        _warm = Load().Table;
        var random = new Random(1);
        _addresses = Enumerable.Range(0, Lookups).Select(_ => 0x26000UL + (ulong)random.Next(0x150000)).ToArray();
        LookupCached();
        Console.WriteLine($"// libc debug table: {_warm.Count} functions, {_warm.ApproximateBytes} bytes held");
    }

    [IterationSetup(Target = nameof(LookupCold))]
    public void FreshTable() => _fresh = Load().Table;

    /// <summary>Everything the agent does the first time a libc frame is seen (per file, not per process).</summary>
    [Benchmark]
    public int LoadLibcDebugSymbols() => Load().Table.Count;

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int LookupCold() => LookupAll(_fresh);

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int LookupCached() => LookupAll(_warm);

    private int LookupAll(SymbolTable table)
    {
        var found = 0;
        foreach (var a in _addresses)
        {
            if (table.TryLookup(a, out _, out _))
            {
                found++;
            }
        }

        return found;
    }

    private NativeSymbolsResult Load()
    {
        using var handle = File.OpenHandle(Libc);
        return NativeSymbols.Load(_elf, handle, Libc, "/", ["/usr/lib/debug"]);
    }
}
