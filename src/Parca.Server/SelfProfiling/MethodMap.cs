using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Parca.Server.SelfProfiling;

/// <summary>
/// Code address → managed method name for this process, kept for the life of the server so that a profile does not
/// need a rundown of every compiled method at the end of each window (the old per-window rundown plus ETLX conversion
/// cost more CPU than the sampling). Filled from one rundown (<see cref="RefreshAsync"/>: JIT-compiled and ReadyToRun
/// methods prepared so far, with their code ranges) and kept current from then on by an in-process listener
/// (<see cref="EnsureListening"/>, <see cref="MethodLoadListener"/>) and the method events of every session
/// (<see cref="Attach"/>): MethodLoadVerbose / MethodUnloadVerbose for code the JIT compiles or tiering recompiles,
/// R2RGetEntryPoint for precompiled methods used for the first time, which come without a size and are taken to run
/// up to the next known method, at most 256 KB. An address that is still unknown makes the caller refresh, at most
/// once per <see cref="MinRefreshInterval"/>. TraceEvent resolves names only inside one trace (TraceLog); nothing
/// obtainable keeps such a map across traces, hence this small class.
/// </summary>
internal sealed class MethodMap
{
    /// <summary>How often an unresolved address may trigger a new rundown (each costs a few tens of ms of CPU).</summary>
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromSeconds(30);

    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Method> _byStart = [];
    private readonly Dictionary<long, string> _modules = [];

    /// <summary>Addresses a rundown did not name either (stubs and helpers without method events): no reason to refresh for them again.</summary>
    private readonly HashSet<ulong> _unnamed = [];
    /// <summary>The longest a ReadyToRun method known only by its entry point is taken to be.</summary>
    private const ulong MaxOpenSize = 256 * 1024;

    private readonly SemaphoreSlim _refreshing = new(1, 1);
    private MethodLoadListener? _listener;
    private Method[] _sorted = [];
    private bool _dirty;
    private long _lastRefreshTicks = long.MinValue;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _byStart.Count;
            }
        }
    }

    /// <summary>Number of rundowns taken so far (for tests and diagnostics).</summary>
    public int Refreshes { get; private set; }

    /// <summary>Whether a rundown may run now (none ran within <see cref="MinRefreshInterval"/>).</summary>
    public bool CanRefresh =>
        Refreshes == 0 || TimeSpan.FromTicks(Environment.TickCount64 * TimeSpan.TicksPerMillisecond - Volatile.Read(ref _lastRefreshTicks)) >= MinRefreshInterval;

    /// <summary>Subscribes the map to method and module load events of a session's source.</summary>
    public void Attach(ClrTraceEventParser clr)
    {
        clr.MethodLoadVerbose += OnMethodLoad;
        clr.MethodUnloadVerbose += OnMethodUnload;
        clr.MethodR2RGetEntryPoint += OnR2REntryPoint;
        clr.LoaderModuleLoad += OnModule;
    }

    /// <summary>Whether a method whose name starts with <paramref name="prefix"/> is known (a linear scan: for tests).</summary>
    public bool Knows(string prefix)
    {
        lock (_gate)
        {
            foreach (var method in _byStart.Values)
            {
                if (method.Name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Whether a new rundown could name this address: it is unknown and no rundown since it was seen failed on it.</summary>
    public bool IsNew(ulong address)
    {
        if (TryResolve(address, out _, out _))
        {
            return false;
        }

        lock (_gate)
        {
            return !_unnamed.Contains(address);
        }
    }

    /// <summary>Remembers addresses that stayed unknown after a rundown.</summary>
    public void MarkUnnamed(ulong address)
    {
        lock (_gate)
        {
            if (_unnamed.Count < 100_000)
            {
                _unnamed.Add(address);
            }
        }
    }

    public bool TryResolve(ulong address, out string name, out string module)
    {
        lock (_gate)
        {
            if (_dirty)
            {
                _sorted = [.. _byStart.Values];
                Array.Sort(_sorted, static (a, b) => a.Start.CompareTo(b.Start));
                _dirty = false;
            }

            // The last method starting at or below the address, if the address lies inside its code.
            int lo = 0, hi = _sorted.Length - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_sorted[mid].Start <= address)
                {
                    found = mid;
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }

            if (found >= 0 && address - _sorted[found].Start < (_sorted[found].Size == 0 ? MaxOpenSize : _sorted[found].Size))
            {
                name = _sorted[found].Name;
                module = _modules.GetValueOrDefault(_sorted[found].ModuleId, "");
                return true;
            }
        }

        name = "";
        module = "";
        return false;
    }

    /// <summary>
    /// Takes a rundown of this process (a session that is stopped at once, which makes the runtime list every method
    /// with native code and every module) and adds what it lists. Concurrent callers share one rundown.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var before = Volatile.Read(ref _lastRefreshTicks);
        await _refreshing.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _lastRefreshTicks) != before)
            {
                return; // another caller refreshed while this one waited
            }

            var client = new DiagnosticsClient(Environment.ProcessId);
            EventPipeProvider[] providers = [new(EventPipeRecorder.Runtime, EventLevel.Informational, EventPipeRecorder.LoaderKeyword | EventPipeRecorder.JitKeyword)];
            using var session = await client.StartEventPipeSessionAsync(providers, requestRundown: true, circularBufferMB: 64, cancellationToken);
            var read = Task.Factory.StartNew(() =>
            {
                using var source = new EventPipeEventSource(session.EventStream);
                var rundown = new ClrRundownTraceEventParser(source);
                rundown.MethodDCStopVerbose += OnMethodLoad;
                rundown.LoaderModuleDCStop += OnModule;
                Attach(source.Clr);
                source.Process();
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await session.StopAsync(CancellationToken.None);
            await read;
            Refreshes++;
            Volatile.Write(ref _lastRefreshTicks, Environment.TickCount64 * TimeSpan.TicksPerMillisecond);
        }
        finally
        {
            _refreshing.Release();
        }
    }

    /// <summary>Adds one method's code range; size 0 for a method known by its entry point only (also used by tests).</summary>
    public void Add(ulong start, int size, string name, long moduleId = 0)
    {
        if (size < 0 || start == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (size == 0 && _byStart.ContainsKey(start))
            {
                return; // already known with its size
            }

            _byStart[start] = new Method(start, (ulong)size, name, moduleId);
            _dirty = true;
        }
    }

    private void OnR2REntryPoint(R2RGetEntryPointTraceData e) =>
        Add((ulong)e.EntryPoint, 0, FullName(e.MethodNamespace, e.MethodName, e.MethodSignature));

    private void OnMethodLoad(MethodLoadUnloadVerboseTraceData e) =>
        Add(e.MethodStartAddress, e.MethodSize, FullName(e.MethodNamespace, e.MethodName, e.MethodSignature), e.ModuleID);

    private void OnMethodUnload(MethodLoadUnloadVerboseTraceData e) => Remove(e.MethodStartAddress);

    public void Remove(ulong start)
    {
        lock (_gate)
        {
            if (_byStart.Remove(start))
            {
                _dirty = true;
            }
        }
    }

    private void OnModule(ModuleLoadUnloadTraceData e) => AddModule(e.ModuleID, e.ModuleILPath, e.ModuleNativePath);

    public void AddModule(long moduleId, string ilPath, string nativePath)
    {
        var path = string.IsNullOrEmpty(ilPath) ? nativePath : ilPath;
        if (!string.IsNullOrEmpty(path))
        {
            lock (_gate)
            {
                _modules[moduleId] = Path.GetFileNameWithoutExtension(path);
            }
        }
    }

    /// <summary>Starts the in-process listener for method loads (once per process; it lives as long as the process).</summary>
    public void EnsureListening()
    {
        if (Volatile.Read(ref _listener) is null)
        {
            var listener = new MethodLoadListener(this);
            if (Interlocked.CompareExchange(ref _listener, listener, null) is not null)
            {
                listener.Dispose();
            }
        }
    }

    /// <summary>
    /// <c>Namespace.Type.Method(parameters)</c>, the form TraceEvent's TraceLog gives (the runtime's signature
    /// string is "return-type (parameters)"; the parameters tell overloads apart).
    /// </summary>
    internal static string FullName(string typeName, string method, string signature)
    {
        var paren = signature.IndexOf('(', StringComparison.Ordinal);
        var parameters = paren >= 0 ? signature.AsSpan(paren) : [];
        return string.Concat(typeName, ".", method, parameters);
    }

    private readonly record struct Method(ulong Start, ulong Size, string Name, long ModuleId);
}
