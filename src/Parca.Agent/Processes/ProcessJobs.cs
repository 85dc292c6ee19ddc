using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Parca.Agent.Processes;

/// <summary>
/// Per-process file work (maps refresh, ELF and perf map loading) run on the thread pool, at most one job per
/// process at a time, awaited by the window only until a deadline. A job that does not finish in time (a slow or
/// hostile file, a stuck file system) costs its own process its symbols for that window and keeps running; the
/// next window joins it instead of starting another. Used only from the window loop.
/// </summary>
internal sealed partial class ProcessJobs
{
    private readonly Dictionary<int, Task> _running = [];
    private readonly ILogger _logger;
    private readonly RefusalLog _log = new();
    private long _timedOut;
    private long _failed;
    private int _unfinished;

    public ProcessJobs(ILogger logger) => _logger = logger;

    /// <summary>Jobs the window stopped waiting for, since start.</summary>
    public long TimedOut => Interlocked.Read(ref _timedOut);

    /// <summary>Jobs that threw (a bug or a file no parser expected), since start.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Jobs still running after the last window stopped waiting.</summary>
    public int Unfinished => Volatile.Read(ref _unfinished);

    /// <summary>Starts (or joins the still running) job of every process in <paramref name="work"/> and waits until <paramref name="deadline"/> (a Stopwatch timestamp).</summary>
    public async Task RunAsync(IReadOnlyDictionary<int, (string Comm, Action Work)> work, long deadline)
    {
        var jobs = new List<(int Pid, string Comm, Task Task)>(work.Count);
        foreach (var (pid, (comm, action)) in work)
        {
            if (!_running.TryGetValue(pid, out var job) || job.IsCompleted)
            {
                job = Task.Run(action);
                _running[pid] = job;
            }

            jobs.Add((pid, comm, job));
        }

        var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
        try
        {
            await Task.WhenAll(jobs.Select(j => j.Task)).WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Timeouts and job failures are looked at one by one below.
        }

        foreach (var (pid, comm, task) in jobs)
        {
            if (!task.IsCompleted)
            {
                Interlocked.Increment(ref _timedOut);
                if (_log.ShouldLog(pid))
                {
                    LogTimedOut(_logger, pid, comm);
                }
            }
            else if (task.Exception is { } e)
            {
                Interlocked.Increment(ref _failed);
                if (_log.ShouldLog(pid))
                {
                    LogFailed(_logger, pid, comm, e.InnerException?.Message ?? e.Message);
                }
            }
        }

        var unfinished = 0;
        foreach (var (pid, task) in _running)
        {
            if (task.IsCompleted)
            {
                _running.Remove(pid);
            }
            else
            {
                unfinished++;
            }
        }

        Volatile.Write(ref _unfinished, unfinished);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "process {Pid} ({Comm}): reading its files did not finish in time; its frames stay unsymbolized until it does (logged once per process)")]
    private static partial void LogTimedOut(ILogger logger, int pid, string comm);

    [LoggerMessage(Level = LogLevel.Warning, Message = "process {Pid} ({Comm}): reading its files failed: {Error}; its frames stay unsymbolized (logged once per process)")]
    private static partial void LogFailed(ILogger logger, int pid, string comm, string error);
}
