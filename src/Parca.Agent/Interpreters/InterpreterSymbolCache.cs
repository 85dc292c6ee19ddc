using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Parca.Agent.Interpreters;

/// <summary>One code object as the BPF walker saw it: process, address and what tells reuse apart (<see cref="InterpreterFrames.CacheFingerprint"/>).</summary>
internal readonly record struct CodeKey(int Pid, ulong Address, uint Fingerprint);

/// <summary>
/// Names of code objects (Python), subs (Perl), iseqs (Ruby) and functions (PHP) per (process, address, fingerprint), read from the process as soon
/// as a sample shows a new one: a short-lived process is usually gone by the end of its window. The sampling thread only looks keys up and
/// queues unknown ones (no allocation for known ones); one background task reads them. Bounded by
/// --interpreter-symbol-cache-size entries: a full cache is emptied (and counted) rather than grown.
/// Keys without a fingerprint from BPF (Python's) are checked against the process once per window, the first time
/// the window uses them (<see cref="NewWindow"/>): a code object freed and another allocated at its address is
/// read again. Samples of the old object taken earlier in that window then carry the new object's name; a
/// fingerprint read in BPF would prevent that, at the price of a second read of every frame of every sample.
/// </summary>
internal sealed class InterpreterSymbolCache : IAsyncDisposable
{
    private readonly ConcurrentDictionary<CodeKey, Cached> _codes = new();
    private readonly ConcurrentDictionary<CodeKey, byte> _queued = new();
    private readonly Channel<CodeKey> _pending = Channel.CreateBounded<CodeKey>(new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Func<CodeKey, InterpretedCode?> _read;
    private readonly Func<CodeKey, InterpretedCode, bool> _isSame;
    private readonly int _capacity;
    private readonly Task _worker;
    private long _bytes;
    private long _evictions;
    private long _unreadable;
    private long _replaced;
    private int _window;

    /// <param name="read">Reads a code object out of its process (null: unreadable, or the process is not known).</param>
    /// <param name="isSame">False when the key's address now holds another object than the cached one (checked once per window).</param>
    public InterpreterSymbolCache(Func<CodeKey, InterpretedCode?> read, int capacity, Func<CodeKey, InterpretedCode, bool>? isSame = null)
    {
        _read = read;
        _isSame = isSame ?? ((_, _) => true);
        _capacity = Math.Max(capacity, 1);
        _worker = Task.Run(ResolveQueuedAsync);
    }

    public int Count => _codes.Count;

    /// <summary>Functions V8 inlined at a pc (null: no V8 support): resolved as soon as a sample shows the pc.</summary>
    public V8Inlining? V8Inlining { get; set; }

    public long Bytes => Interlocked.Read(ref _bytes);

    public long Evictions => Interlocked.Read(ref _evictions);

    /// <summary>Code objects that could not be read (process gone, memory reused).</summary>
    public long Unreadable => Interlocked.Read(ref _unreadable);

    /// <summary>Cached code objects whose address was found holding another object (read again), since start.</summary>
    public long Replaced => Interlocked.Read(ref _replaced);

    /// <summary>Starts a window: each cached entry is checked again the first time this window uses it.</summary>
    public void NewWindow() => Interlocked.Increment(ref _window);

    /// <summary>Called for every sample on the sampling thread: queues the code objects not named yet.</summary>
    public void Observe(int pid, ReadOnlySpan<ulong> user)
    {
        var native = InterpreterFrames.NativeLength(user);
        for (var i = native; i + 1 < user.Length; i += 2)
        {
            var key = new CodeKey(pid, user[i + 1], InterpreterFrames.CacheFingerprint(user[i]));
            if (V8Inlining is { } inlining && InterpreterFrames.Language(user[i]) == InterpreterFrames.V8 && InterpreterFrames.NativeIndex(user[i]) is var frame and >= 0 && frame < native)
            {
                inlining.Observe(pid, InterpreterFrames.V8LookupPc(user, frame));
            }

            if (!_codes.ContainsKey(key) && _queued.TryAdd(key, 0) && !_pending.Writer.TryWrite(key))
            {
                _queued.TryRemove(key, out _); // queue full: named at window end instead
            }
        }
    }

    /// <summary>
    /// The code object's names, reading it now when the background task has not yet, or again when its address
    /// holds another object (checked once per window; no allocation otherwise).
    /// </summary>
    public InterpretedCode? Get(CodeKey key)
    {
        if (!_codes.TryGetValue(key, out var cached))
        {
            return Resolve(key);
        }

        var window = Volatile.Read(ref _window);
        if (cached.Window == window)
        {
            return cached.Code;
        }

        if (_isSame(key, cached.Code))
        {
            cached.Window = window;
            return cached.Code;
        }

        Interlocked.Increment(ref _replaced);
        if (_codes.TryRemove(new KeyValuePair<CodeKey, Cached>(key, cached)))
        {
            Interlocked.Add(ref _bytes, -cached.Code.Bytes);
        }

        return Resolve(key);
    }

    /// <summary>Forgets the code objects of an exited process.</summary>
    public void RemoveProcess(int pid)
    {
        foreach (var key in _codes.Keys)
        {
            if (key.Pid == pid && _codes.TryRemove(key, out var cached))
            {
                Interlocked.Add(ref _bytes, -cached.Code.Bytes);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _worker.ConfigureAwait(false);
        if (V8Inlining is { } inlining)
        {
            await inlining.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ResolveQueuedAsync()
    {
        await foreach (var key in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (!_codes.ContainsKey(key))
            {
                Resolve(key);
            }

            _queued.TryRemove(key, out _);
        }
    }

    private InterpretedCode? Resolve(CodeKey key)
    {
        var code = _read(key);
        if (code is null)
        {
            Interlocked.Increment(ref _unreadable);
            return null; // not cached: a later sample may find it readable (e.g. read mid-construction)
        }

        if (_codes.Count >= _capacity)
        {
            _codes.Clear();
            Interlocked.Exchange(ref _bytes, 0);
            Interlocked.Increment(ref _evictions);
        }

        if (_codes.TryAdd(key, new Cached(code, Volatile.Read(ref _window))))
        {
            Interlocked.Add(ref _bytes, code.Bytes);
        }

        return code;
    }

    /// <summary>A named code object and the window that last found it at its address.</summary>
    private sealed class Cached(InterpretedCode code, int window)
    {
        public InterpretedCode Code { get; } = code;

        public int Window { get; set; } = window;
    }
}
