using System.Collections.Concurrent;

namespace Parca.Scrape.Tests;

/// <summary>
/// Test implementation of <see cref="IProfileWriter"/>: keeps a copy of every profile written so tests can read it
/// back with <c>go tool pprof</c>. Stands in for the storage ingest until the query API is on main.
/// </summary>
internal sealed class RecordingProfileWriter : IProfileWriter
{
    private readonly ConcurrentQueue<WrittenProfile> _written = new();
    private readonly SemaphoreSlim _signal = new(0);

    public IReadOnlyCollection<WrittenProfile> Written => _written;

    public Exception? FailWith { get; set; }

    public ValueTask WriteRawAsync(IReadOnlyList<KeyValuePair<string, string>> labels, ReadOnlyMemory<byte> pprof, IReadOnlyList<ExecutableInfo> executableInfos, CancellationToken cancellationToken)
    {
        if (FailWith is { } e)
        {
            throw e;
        }

        _written.Enqueue(new WrittenProfile(labels.ToDictionary(l => l.Key, l => l.Value), pprof.ToArray(), [.. executableInfos]));
        _signal.Release();
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until a profile matching <paramref name="match"/> was written (guarding against a hang, not measuring speed).</summary>
    public async Task<WrittenProfile> WaitForAsync(Func<WrittenProfile, bool> match, TimeSpan guard)
    {
        using var cts = new CancellationTokenSource(guard);
        while (true)
        {
            foreach (var p in _written)
            {
                if (match(p))
                {
                    return p;
                }
            }

            try
            {
                await _signal.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                var seen = string.Join("; ", _written.Select(w => string.Join(",", w.Labels.Select(l => $"{l.Key}={l.Value}"))).Distinct());
                throw new TimeoutException($"no matching profile written within {guard}; written so far: {seen}");
            }
        }
    }
}

internal sealed record WrittenProfile(Dictionary<string, string> Labels, byte[] Pprof, ExecutableInfo[] ExecutableInfos)
{
    public string Name => Labels["__name__"];
}
