using BenchmarkDotNet.Attributes;
using Parca.Agent.Bpf;
using Parca.Agent.Profiling;

namespace Parca.Benchmarks.Agent;

/// <summary>
/// The agent's event path: one ring-buffer record (<see cref="BpfSample"/>: header + used frames) into the window's stack table.
/// 1,000 distinct stacks of 20 user + 10 kernel frames over 50 processes, replayed round-robin (most samples hit
/// an existing entry, as in a real window).
/// </summary>
[MemoryDiagnoser]
public class SampleAggregationBenchmarks
{
    private BpfSample[] _samples = [];
    private SampleAggregator _aggregator = null!;

    [GlobalSetup]
    public unsafe void Setup()
    {
        var random = new Random(42);
        _samples = new BpfSample[1000];
        for (var i = 0; i < _samples.Length; i++)
        {
            ref var s = ref _samples[i];
            s.Pid = (uint)(1000 + (i % 50));
            s.Tid = s.Pid;
            s.Cpu = (uint)(i & 1);
            s.KernelLength = 10;
            s.UserLength = 20;
            for (var f = 0; f < 20; f++)
            {
                s.Frames[f] = 0x5555_0000_0000UL + (ulong)random.Next(1 << 24); // user frames first
            }

            for (var f = 20; f < 30; f++)
            {
                s.Frames[f] = 0xffffffff81000000UL + (ulong)random.Next(1 << 20);
            }

            s.Comm[0] = (byte)'b';
        }

        _aggregator = new SampleAggregator(_ => { });
        foreach (ref readonly var s in _samples.AsSpan())
        {
            _aggregator.OnSample(in s);
        }
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public void OnSample()
    {
        foreach (ref readonly var s in _samples.AsSpan())
        {
            _aggregator.OnSample(in s);
        }
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public long NewWindow()
    {
        var table = new StackTable();
        foreach (ref readonly var s in _samples.AsSpan())
        {
            table.Add((int)s.Pid, (int)s.Tid, (int)s.Cpu, 0, s.KernelFrames, s.UserFrames);
        }

        return table.Count;
    }
}
