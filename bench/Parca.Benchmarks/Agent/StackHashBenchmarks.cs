using System.Numerics;
using BenchmarkDotNet.Attributes;
using Parca.Agent.Profiling;

namespace Parca.Benchmarks.Agent;

/// <summary>
/// The stack table's hash, old and new in one run: the hand-written multiply-rotate fold the agent used until
/// issue 15 (kept here only as the baseline) against System.IO.Hashing's XxHash3 (<see cref="StackHash.Stack"/>),
/// over the same 1,000 stacks of 10 kernel + 20 user frames as <see cref="SampleAggregationBenchmarks"/>.
/// </summary>
[MemoryDiagnoser]
public class StackHashBenchmarks
{
    private ulong[][] _kernel = [];
    private ulong[][] _user = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        _kernel = new ulong[1000][];
        _user = new ulong[1000][];
        for (var i = 0; i < 1000; i++)
        {
            _user[i] = [.. Enumerable.Range(0, 20).Select(_ => 0x5555_0000_0000UL + (ulong)random.Next(1 << 24))];
            _kernel[i] = [.. Enumerable.Range(0, 10).Select(_ => 0xffffffff81000000UL + (ulong)random.Next(1 << 20))];
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 1000)]
    public ulong HandWrittenFold()
    {
        ulong sum = 0;
        for (var i = 0; i < _user.Length; i++)
        {
            sum += LegacyFold.Stack(1000 + i, 1000 + i, i & 1, _kernel[i], _user[i]);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public ulong XxHash3()
    {
        ulong sum = 0;
        for (var i = 0; i < _user.Length; i++)
        {
            sum += StackHash.Stack(1000 + i, 1000 + i, i & 1, _kernel[i], _user[i]);
        }

        return sum;
    }

    /// <summary>The agent's previous stack hash, word by word (multiply-rotate, murmur finalizer).</summary>
    private static class LegacyFold
    {
        private const ulong Prime1 = 0x9E3779B185EBCA87UL;
        private const ulong Prime2 = 0xC2B2AE3D27D4EB4FUL;

        public static ulong Stack(int pid, int tid, int cpu, ReadOnlySpan<ulong> kernel, ReadOnlySpan<ulong> user)
        {
            var h = Mix(((ulong)(uint)pid << 32) | (uint)tid, (ulong)cpu);
            foreach (var f in kernel)
            {
                h = Mix(h, f);
            }

            h = Mix(h, 0xffff_ffff_ffff_fffeUL);
            foreach (var f in user)
            {
                h = Mix(h, f);
            }

            h ^= h >> 33;
            h *= 0xff51afd7ed558ccdUL;
            h ^= h >> 33;
            h *= 0xc4ceb3f53fe1a85bUL;
            return h ^ (h >> 33);
        }

        private static ulong Mix(ulong h, ulong value) => BitOperations.RotateLeft(h ^ (value * Prime2), 31) * Prime1;
    }
}
