using BenchmarkDotNet.Attributes;
using Parca.Server.SelfProfiling;

namespace Parca.Benchmarks.SelfProfiling;

/// <summary>
/// Naming a self-profile's stacks at the end of a window: every frame's code address is looked up in the process-wide
/// <see cref="MethodMap"/> (binary search over ~20,000 methods, about what the idle server has compiled) and the named
/// stacks go into the pprof builder. A 10 s CPU window of the idle server has a few hundred distinct stacks of 20-40
/// frames over one or two thousand methods; 500 stacks of 30 frames over 1,500 of the map's methods are measured here.
/// </summary>
[MemoryDiagnoser]
public class SelfProfileNamingBenchmarks
{
    private const int Methods = 20_000;
    private readonly MethodMap _map = new();
    private ulong[][] _stacks = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var start = 0x7f00_0000_0000UL;
        var starts = new ulong[Methods];
        for (var i = 0; i < Methods; i++)
        {
            var size = random.Next(32, 2048);
            starts[i] = start;
            _map.Add(start, size, $"Namespace{i % 50}.Type{i % 700}.Method{i}(int32,class System.String)", i % 40);
            start += (ulong)size + 16;
        }

        for (var m = 0; m < 40; m++)
        {
            _map.AddModule(m, $"/app/Module{m}.dll", "");
        }

        _stacks = new ulong[500][];
        for (var s = 0; s < _stacks.Length; s++)
        {
            _stacks[s] = new ulong[30];
            for (var f = 0; f < 30; f++)
            {
                _stacks[s][f] = starts[random.Next(1_500) * (Methods / 1_500)] + 8;
            }
        }

        _map.TryResolve(0, out _, out _); // sorts once, as the first profile after new methods does
    }

    [Benchmark(Description = "resolve 15,000 frame addresses")]
    public int Resolve()
    {
        var found = 0;
        foreach (var stack in _stacks)
        {
            foreach (var address in stack)
            {
                found += _map.TryResolve(address, out _, out _) ? 1 : 0;
            }
        }

        return found;
    }

    [Benchmark(Description = "name 500 stacks into a pprof profile")]
    public async Task<int> NameIntoProfile()
    {
        var stacks = new RawStacks(2);
        foreach (var stack in _stacks)
        {
            stacks.Add(stacks.AddStack(stack), [1, 1_000_000]);
        }

        var builder = new SelfProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], ("cpu", "nanoseconds"), 1_000_000);
        await stacks.AddToAsync(builder, _map, CancellationToken.None);
        return builder.SampleCount;
    }
}
