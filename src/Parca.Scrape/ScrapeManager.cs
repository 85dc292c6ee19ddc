using Microsoft.Extensions.Logging;
using Parca.Ingest;
using Parca.Scrape.Config;

namespace Parca.Scrape;

/// <summary>
/// Runs the scrape jobs of the current configuration. <see cref="ApplyConfigAsync"/> is called at start-up and on
/// every successful reload: jobs whose configuration did not change keep running untouched (their targets keep
/// their health and timing), changed jobs are restarted, removed jobs stopped.
/// </summary>
public sealed class ScrapeManager : IAsyncDisposable
{
    private readonly ScrapeDependencies _deps;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Dictionary<string, ScrapePool> _pools = new(StringComparer.Ordinal);

    internal ScrapeManager(ScrapeDependencies deps) => _deps = deps;

    public ScrapeManager(IProfileWriter writer, ScrapeMetrics metrics, ILogger<ScrapeManager> logger, int maxProfileBytes)
        : this(new ScrapeDependencies(writer, metrics, logger, TimeProvider.System, maxProfileBytes))
    {
    }

    internal ScrapeManager(IProfileWriter writer, ScrapeMetrics metrics, ILogger<ScrapeManager> logger, IngestLimits limits)
        : this(new ScrapeDependencies(writer, metrics, logger, TimeProvider.System, limits.MaxMessageSize, limits))
    {
    }

    /// <summary>The jobs currently running, by name.</summary>
    public IReadOnlyCollection<string> Jobs => Volatile.Read(ref _pools).Keys;

    public async Task ApplyConfigAsync(ParcaConfig config, string configDirectory)
    {
        await _lock.WaitAsync();
        try
        {
            var next = new Dictionary<string, ScrapePool>(StringComparer.Ordinal);
            var started = new List<ScrapePool>();
            var stopped = new List<ScrapePool>();
            foreach (var job in config.ScrapeConfigs)
            {
                if (_pools.TryGetValue(job.JobName, out var pool) && pool.Config.Fingerprint == job.Fingerprint)
                {
                    next[job.JobName] = pool;
                    continue;
                }

                if (pool is not null)
                {
                    stopped.Add(pool);
                }

                var created = new ScrapePool(job, _deps, configDirectory);
                next[job.JobName] = created;
                started.Add(created);
            }

            foreach (var (name, pool) in _pools)
            {
                if (!next.ContainsKey(name))
                {
                    stopped.Add(pool);
                }
            }

            await Task.WhenAll(stopped.Select(p => p.DisposeAsync().AsTask()));
            Volatile.Write(ref _pools, next);
            await Task.WhenAll(started.Select(p => p.SyncAsync()));
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Active targets per job (what <c>ScrapeService.Targets</c> reports with STATE_ACTIVE).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<ScrapeTarget>> ActiveTargets()
    {
        var result = new SortedDictionary<string, IReadOnlyList<ScrapeTarget>>(StringComparer.Ordinal);
        foreach (var (name, pool) in Volatile.Read(ref _pools))
        {
            result[name] = pool.ActiveTargets;
        }

        return result;
    }

    /// <summary>Dropped targets per job (STATE_DROPPED), with the reason.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<DroppedTarget>> DroppedTargets()
    {
        var result = new SortedDictionary<string, IReadOnlyList<DroppedTarget>>(StringComparer.Ordinal);
        foreach (var (name, pool) in Volatile.Read(ref _pools))
        {
            result[name] = pool.DroppedTargets;
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await _lock.WaitAsync();
        try
        {
            await Task.WhenAll(_pools.Values.Select(p => p.DisposeAsync().AsTask()));
            _pools = new(StringComparer.Ordinal);
        }
        finally
        {
            _lock.Release();
        }
    }
}
