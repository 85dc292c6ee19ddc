using BenchmarkDotNet.Attributes;
using Parca.Agent.Interpreters;

namespace Parca.Benchmarks.Agent;

/// <summary>
/// The interpreter parts of the agent's per-sample path: <see cref="InterpreterSymbolCache.Observe"/> (every sample
/// of an interpreter process, on the sampling thread: 30 Python frames behind 10 native ones, all code objects
/// already named) and the 3.11 line-table lookup a window does per new (code object, instruction).
/// </summary>
[MemoryDiagnoser]
public class InterpreterBenchmarks
{
    private ulong[] _user = [];
    private InterpreterSymbolCache _cache = null!;
    private byte[] _table = [];

    [GlobalSetup]
    public void Setup()
    {
        var frames = new List<ulong>();
        for (var i = 0; i < 10; i++)
        {
            frames.Add(0x5555_0000_1000UL + ((ulong)i * 64));
        }

        for (var i = 0; i < 30; i++)
        {
            frames.Add((1UL << 60) | ((ulong)(i + 1) << 32));                 // Python tag: instruction (no fingerprint)
            frames.Add(0x7f00_0000_0000UL + ((ulong)i * 0x100));              // code object
        }

        _user = [.. frames];
        _cache = new InterpreterSymbolCache(key => new PythonCode($"f{key.Address:x}", "/srv/app/main.py", 10, [], PythonLineFormat.Locations311, default), 16384);
        for (var i = 10; i + 1 < _user.Length; i += 2)
        {
            _cache.Get(new CodeKey(1000, _user[i + 1], InterpreterFrames.CacheFingerprint(_user[i])));
        }

        // A 3.11 location table (Objects/locations.md) of 200 one-code-unit entries, each one line further: code 13
        // ("no column info": 0x80 | 13 << 3 | length - 1) and the line delta as a signed varint (+1 = 2).
        var table = new List<byte>();
        for (var i = 0; i < 200; i++)
        {
            table.Add(0xe8);
            table.Add(2);
        }

        _table = [.. table];
    }

    [GlobalCleanup]
    public void Cleanup() => _cache.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark]
    public void Observe() => _cache.Observe(1000, _user);

    [Benchmark]
    public int LineOf311() => PythonLineTable.Line(PythonLineFormat.Locations311, _table, 10, 150);
}
