using BenchmarkDotNet.Attributes;
using Parca.Symbols.Demangling;
using Parca.Symbols.Elf;
using Parca.Symbols.Kernel;

namespace Parca.Benchmarks.Agent;

/// <summary>Per-location symbolization costs at window end: ELF symbol lookup (libc), kallsyms load and lookup, demangling.</summary>
[MemoryDiagnoser]
public class SymbolizationBenchmarks
{
    private SymbolTable _libc = SymbolTable.Empty;
    private KernelSymbols _kernel = null!;
    private ulong[] _addresses = [];
    private ulong[] _kernelAddresses = [];

    [GlobalSetup]
    public void Setup()
    {
        const string libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";
        var elf = ElfFile.Open(libc);
        using var handle = File.OpenHandle(libc);
        _libc = elf.ReadSymbols(handle, libc);
        _kernel = new KernelSymbols();
        var random = new Random(1);
        _addresses = Enumerable.Range(0, 1024).Select(_ => 0x28000UL + (ulong)random.Next(0x150000)).ToArray();
        var text = File.ReadLines("/proc/kallsyms").Where(l => l.Contains(" T ", StringComparison.Ordinal)).Take(20000)
            .Select(l => Convert.ToUInt64(l[..16], 16)).Where(a => a != 0).ToArray();
        _kernelAddresses = Enumerable.Range(0, 1024).Select(i => text[random.Next(text.Length)] + 4).ToArray();
    }

    [Benchmark(OperationsPerInvoke = 1024)]
    public int ElfLookup()
    {
        var found = 0;
        foreach (var a in _addresses)
        {
            if (_libc.TryLookup(a, out _, out _))
            {
                found++;
            }
        }

        return found;
    }

    /// <summary>Reading the running kernel's /proc/kallsyms (agent start-up and every module change).</summary>
    [Benchmark]
    public int KallsymsLoad() => new KernelSymbols().Count;

    [Benchmark(OperationsPerInvoke = 1024)]
    public int KallsymsLookup()
    {
        var found = 0;
        foreach (var a in _kernelAddresses)
        {
            if (_kernel.Lookup(a) is not null)
            {
                found++;
            }
        }

        return found;
    }

    [Benchmark]
    public string DemangleSimple() => Demangler.Demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", DemangleMode.Simple);

    [Benchmark]
    public string DemangleFull() => Demangler.Demangle("_ZNSt6vectorIiSaIiEE9push_backERKi", DemangleMode.Full);
}
