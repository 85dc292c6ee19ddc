using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;

namespace Parca.Agent.Interpreters;

/// <summary>
/// Interpreted languages in the agent: when the process table captures a process, recognises its interpreter
/// (<see cref="PerlDetector"/>, <see cref="RubyDetector"/>, <see cref="PhpDetector"/>, <see cref="PythonDetector"/>) and publishes the version's layout to the BPF walker;
/// removes exited processes at window end; names code objects and subs through <see cref="InterpreterSymbolCache"/>. A process whose interpreter version
/// has no table is logged once (one line naming the process, the file and the version), counted, and profiled
/// with native frames only.
/// </summary>
internal sealed partial class InterpreterManager : IAsyncDisposable
{
    private readonly InterpreterMaps _maps;
    private readonly ObjectFileCache _objects;
    private readonly ProcessFiles _files;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<int, PythonProcess> _python = new();
    private readonly ConcurrentDictionary<int, PerlProcess> _perl = new();
    private readonly ConcurrentDictionary<int, RubyProcess> _ruby = new();
    private readonly ConcurrentDictionary<int, PhpProcess> _php = new();
    private readonly ConcurrentDictionary<int, V8Process> _v8 = new();
    private readonly ConcurrentDictionary<int, int> _misses = new();
    private readonly bool _pythonEnabled;
    private readonly bool _perlEnabled;
    private readonly bool _rubyEnabled;
    private readonly bool _phpEnabled;
    private readonly bool _v8Enabled;
    private long _unsupported;
    private long _detectionFailures;

    public InterpreterManager(InterpreterMaps maps, ObjectFileCache objects, ProcessFiles files, int cacheCapacity, ILogger logger, bool python = true, bool perl = true, bool ruby = true, bool php = true, bool v8 = true)
    {
        _maps = maps;
        _objects = objects;
        _files = files;
        _logger = logger;
        _pythonEnabled = python;
        _perlEnabled = perl;
        _rubyEnabled = ruby;
        _phpEnabled = php;
        _v8Enabled = v8;
        Symbols = new InterpreterSymbolCache(ReadCode, cacheCapacity, IsSameCode);
        if (v8)
        {
            Symbols.V8Inlining = new V8Inlining(V8, (pid, shared) => Symbols.Get(new CodeKey(pid, shared, 0)), cacheCapacity);
        }
    }

    public InterpreterSymbolCache Symbols { get; }

    public InterpreterMaps Maps => _maps;

    /// <summary>Processes whose Python frames the BPF walker reads now.</summary>
    public int PythonProcesses => _python.Count;

    /// <summary>Processes whose Perl frames the BPF walker reads now.</summary>
    public int PerlProcesses => _perl.Count;

    /// <summary>Processes whose Ruby frames the BPF walker reads now.</summary>
    public int RubyProcesses => _ruby.Count;

    /// <summary>Processes whose PHP frames the BPF walker reads now.</summary>
    public int PhpProcesses => _php.Count;

    /// <summary>Processes whose JavaScript frames (V8) the BPF walker reads now.</summary>
    public int V8Processes => _v8.Count;

    /// <summary>Interpreter processes of a version without a table (native stacks only), since start.</summary>
    public long Unsupported => Interlocked.Read(ref _unsupported);

    public long DetectionFailures => Interlocked.Read(ref _detectionFailures);

    public PythonProcess? Python(int pid) => _python.TryGetValue(pid, out var p) ? p : null;

    public PerlProcess? Perl(int pid) => _perl.TryGetValue(pid, out var p) ? p : null;

    public RubyProcess? Ruby(int pid) => _ruby.TryGetValue(pid, out var p) ? p : null;

    public PhpProcess? Php(int pid) => _php.TryGetValue(pid, out var p) ? p : null;

    public V8Process? V8(int pid) => _v8.TryGetValue(pid, out var p) ? p : null;

    /// <summary>The interpreter process <paramref name="pid"/> is, if the walker reads its frames.</summary>
    public IInterpreterProcess? Process(int pid) => Python(pid) ?? Perl(pid) ?? Ruby(pid) ?? Php(pid) ?? (IInterpreterProcess?)V8(pid);

    /// <summary>Called on the capture task for every new process.</summary>
    public void AddProcess(ProcessInfo info)
    {
        if (_perlEnabled && AddPerl(info))
        {
            return;
        }

        if (_rubyEnabled && AddRuby(info))
        {
            return;
        }

        if (_phpEnabled && AddPhp(info))
        {
            return;
        }

        if (_v8Enabled && AddV8(info))
        {
            return;
        }

        if (!_pythonEnabled)
        {
            return;
        }

        var found = PythonDetector.Detect(info, m => _objects.Get(info.Pid, m, _files));
        if (found.Process is { } python)
        {
            if (_maps.WritePython(python))
            {
                _python[info.Pid] = python;
                LogPython(_logger, info.Pid, info.Comm, python.Path, python.Version);
            }

            return;
        }

        if (found.UnsupportedVersion is { } version)
        {
            Interlocked.Increment(ref _unsupported);
            LogUnsupported(_logger, info.Pid, info.Comm, found.Path ?? "", version);
        }
        else if (found.Problem is { } problem)
        {
            Interlocked.Increment(ref _detectionFailures);
            LogDetectionFailed(_logger, info.Pid, info.Comm, found.Path ?? "", problem);
        }
    }

    /// <summary>At window end: forgets processes that exited (or whose PID now names another process).</summary>
    public void Sweep()
    {
        Sweep(_python, _maps.DeletePython);
        Sweep(_perl, _maps.DeletePerl);
        Sweep(_ruby, _maps.DeleteRuby);
        Sweep(_php, _maps.DeletePhp);
        Sweep(_v8, _maps.DeleteV8);
    }

    private void Sweep<T>(ConcurrentDictionary<int, T> table, Action<int> delete)
        where T : IInterpreterProcess
    {
        foreach (var (pid, process) in table)
        {
            if (Gone(pid, process.StartTime))
            {
                table.TryRemove(pid, out _);
                delete(pid);
                Symbols.RemoveProcess(pid);
                Symbols.V8Inlining?.RemoveProcess(pid);
            }
        }
    }

    /// <summary>
    /// A stat read can be refused, fail or come back without a start time on a loaded machine while the process
    /// lives: only a missing /proc entry or another (known) start time means it is gone. Removing a live process
    /// stops its interpreted frames for good (it is detected once), which is what made the end-to-end tests flaky.
    /// </summary>
    private bool Gone(int pid, ulong startTime)
    {
        var stat = ProcFs.ReadStat(_files, pid);
        bool gone;
        if (stat is { StartTime: > 0 } known)
        {
            gone = known.StartTime != startTime;
        }
        else
        {
            // No start time: gone only when /proc has no entry in three sweeps running (a live process was seen
            // removed on a machine at load 60-75, which stopped its interpreted frames for good).
            var misses = Directory.Exists($"{_files.ProcRoot}/{pid}") ? 0 : _misses.GetValueOrDefault(pid) + 1;
            _misses[pid] = misses;
            gone = misses >= 3;
        }

        if (gone)
        {
            _misses.TryRemove(pid, out _);
            LogGone(_logger, pid, stat?.StartTime ?? 0, startTime);
        }

        return gone;
    }

    /// <summary>Perl detection; true when the process is Perl (walked, or logged as one the agent cannot walk).</summary>
    private bool AddPerl(ProcessInfo info)
    {
        var found = PerlDetector.Detect(info, m => _objects.Get(info.Pid, m, _files));
        return Publish(info, found.Process, _perl, _maps.WritePerl, found.UnsupportedVersion, found.Path, found.Problem,
            p => LogPerl(_logger, info.Pid, info.Comm, p.Path, p.VersionText, p.TlsOffset != 0 ? "thread-local PL_current_context" : "PL_curinterp"),
            v => LogUnsupportedPerl(_logger, info.Pid, info.Comm, found.Path ?? "", v));
    }

    /// <summary>Ruby detection; true when the process is Ruby (walked, or logged as one the agent cannot walk).</summary>
    private bool AddRuby(ProcessInfo info)
    {
        var found = RubyDetector.Detect(info, m => _objects.Get(info.Pid, m, _files));
        return Publish(info, found.Process, _ruby, _maps.WriteRuby, found.UnsupportedVersion, found.Path, found.Problem,
            p => LogRuby(_logger, info.Pid, info.Comm, p.Path, p.Version), v => LogUnsupportedRuby(_logger, info.Pid, info.Comm, found.Path ?? "", v));
    }

    /// <summary>PHP detection; true when the process is PHP (walked, or logged as one the agent cannot walk).</summary>
    private bool AddPhp(ProcessInfo info)
    {
        var found = PhpDetector.Detect(info, m => _objects.Get(info.Pid, m, _files));
        return Publish(info, found.Process, _php, _maps.WritePhp, found.UnsupportedVersion, found.Path, found.Problem,
            p => LogPhp(_logger, info.Pid, info.Comm, p.Path, p.Version, p.ThreadSafe ? " (thread-safe, ZTS)" : ""), v => LogUnsupportedPhp(_logger, info.Pid, info.Comm, found.Path ?? "", v));
    }

    /// <summary>V8 (Node.js) detection; true when the process runs V8 (walked, or logged as one the agent cannot walk).</summary>
    private bool AddV8(ProcessInfo info)
    {
        var found = V8Detector.Detect(info, m => _objects.Get(info.Pid, m, _files));
        return Publish(info, found.Process, _v8, _maps.WriteV8, found.UnsupportedVersion, found.Path, found.Problem,
            p => LogV8(_logger, info.Pid, info.Comm, p.Path, p.Version), v => LogUnsupportedV8(_logger, info.Pid, info.Comm, found.Path ?? "", v));
    }

    /// <summary>
    /// What a detector found: a process to walk (published to its BPF map and table), a version without a table or a
    /// problem (one log line, counted); true when the process is of that language.
    /// </summary>
    private bool Publish<T>(ProcessInfo info, T? process, ConcurrentDictionary<int, T> table, Func<T, bool> write, string? unsupportedVersion, string? path, string? problem, Action<T> logWalked, Action<string> logUnsupported)
        where T : class, IInterpreterProcess
    {
        if (process is not null)
        {
            if (write(process))
            {
                table[info.Pid] = process;
                logWalked(process);
            }

            return true;
        }

        if (unsupportedVersion is not null)
        {
            Interlocked.Increment(ref _unsupported);
            logUnsupported(unsupportedVersion);
            return true;
        }

        if (problem is not null)
        {
            Interlocked.Increment(ref _detectionFailures);
            LogDetectionFailed(_logger, info.Pid, info.Comm, path ?? "", problem);
            return true;
        }

        return false;
    }

    private InterpretedCode? ReadCode(CodeKey key)
    {
        if (Python(key.Pid) is { } python)
        {
            return PythonCodeReader.Read(key.Pid, python.Layout, key.Address);
        }

        if (V8(key.Pid) is { } v8)
        {
            return V8CodeReader.Read(key.Pid, v8.Layout, key.Address);
        }

        if (Php(key.Pid) is { } php)
        {
            return PhpCodeReader.Read(key.Pid, php.Layout, key.Address);
        }

        if (Ruby(key.Pid) is { } ruby)
        {
            return RubyCodeReader.Read(key.Pid, ruby.Layout, key.Address, key.Fingerprint);
        }

        return Perl(key.Pid) is { } perl ? PerlCodeReader.Read(key.Pid, perl.Layout, key.Address, key.Fingerprint) : null;
    }

    /// <summary>
    /// The symbol cache's once-per-window check: Python code objects and V8 functions carry no fingerprint from BPF
    /// (a V8 SharedFunctionInfo moves when the garbage collector compacts its space, and another object can take
    /// its old address).
    /// </summary>
    private bool IsSameCode(CodeKey key, InterpretedCode code) => code switch
    {
        PythonCode python => Python(key.Pid) is not { } process || PythonCodeReader.IsSame(key.Pid, process.Layout, key.Address, python),
        V8Code v8 => V8(key.Pid) is not { } node || V8CodeReader.IsSame(key.Pid, node.Layout, key.Address, v8),
        _ => true,
    };

    public ValueTask DisposeAsync() => Symbols.DisposeAsync();

    [LoggerMessage(Level = LogLevel.Debug, Message = "process {Pid} exited (start time now {Now}, was {Was}): its interpreter state is removed")]
    private static partial void LogGone(ILogger logger, int pid, ulong now, ulong was);

    [LoggerMessage(Level = LogLevel.Debug, Message = "process {Pid} ({Comm}): Python {Version} in {Path}, its Python frames are profiled")]
    private static partial void LogPython(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): Python {Version} in {Path} has no structure table in this agent (3.8-3.13 have); profiled with native frames only")]
    private static partial void LogUnsupported(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "process {Pid} ({Comm}): Perl {Version} in {Path}, its Perl frames are profiled (interpreter from {Source})")]
    private static partial void LogPerl(ILogger logger, int pid, string comm, string path, string version, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): Perl {Version} in {Path} has no structure table in this agent (5.36 has); profiled with native frames only")]
    private static partial void LogUnsupportedPerl(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "process {Pid} ({Comm}): Ruby {Version} in {Path}, its Ruby frames are profiled")]
    private static partial void LogRuby(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): Ruby {Version} in {Path} has no structure table in this agent (3.1 has); profiled with native frames only")]
    private static partial void LogUnsupportedRuby(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "process {Pid} ({Comm}): PHP {Version}{Zts} in {Path}, its PHP frames are profiled")]
    private static partial void LogPhp(ILogger logger, int pid, string comm, string path, string version, string zts);

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): PHP {Version} in {Path} has no structure table in this agent (8.2 has); profiled with native frames only")]
    private static partial void LogUnsupportedPhp(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Debug, Message = "process {Pid} ({Comm}): V8 {Version} in {Path}, its JavaScript frames are profiled")]
    private static partial void LogV8(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): V8 {Version} in {Path} is not walked by this agent (V8 11 without pointer compression, node 20, is); profiled with native frames only")]
    private static partial void LogUnsupportedV8(ILogger logger, int pid, string comm, string path, string version);

    [LoggerMessage(Level = LogLevel.Information, Message = "process {Pid} ({Comm}): could not read the interpreter in {Path}: {Problem}; profiled with native frames only")]
    private static partial void LogDetectionFailed(ILogger logger, int pid, string comm, string path, string problem);
}
