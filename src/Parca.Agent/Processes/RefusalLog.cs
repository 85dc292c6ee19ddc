using System.Diagnostics;

namespace Parca.Agent.Processes;

/// <summary>
/// Rate limit for refusal log lines: one line per process per <see cref="PerProcess"/>, and at most
/// <see cref="Burst"/> lines per minute over all processes (a machine full of hostile processes must not flood the
/// log either). The per-process memory is bounded: when full it starts over.
/// </summary>
internal sealed class RefusalLog
{
    public static readonly TimeSpan PerProcess = TimeSpan.FromHours(1);
    public const int Burst = 20;
    private const int MaxRemembered = 4096;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, long> _lastLogged = [];
    private readonly Func<long> _now;
    private long _minuteStart;
    private int _inMinute;

    public RefusalLog(Func<long>? now = null) => _now = now ?? Stopwatch.GetTimestamp;

    public long Suppressed { get; private set; }

    public bool ShouldLog(int pid)
    {
        var now = _now();
        lock (_lock)
        {
            if (_lastLogged.TryGetValue(pid, out var last) && Stopwatch.GetElapsedTime(last, now) < PerProcess)
            {
                return false; // already said for this process: the metric keeps counting
            }

            if (Stopwatch.GetElapsedTime(_minuteStart, now) >= TimeSpan.FromMinutes(1))
            {
                _minuteStart = now;
                _inMinute = 0;
            }

            if (_inMinute >= Burst)
            {
                Suppressed++;
                return false;
            }

            if (_lastLogged.Count >= MaxRemembered)
            {
                _lastLogged.Clear();
            }

            _inMinute++;
            _lastLogged[pid] = now;
            return true;
        }
    }
}
