using Microsoft.Extensions.Logging;
using Parca.Ingest;
using Parca.Scrape.Config;
using Parca.Scrape.Discovery;

namespace Parca.Scrape;

/// <summary>
/// The targets of one scrape job: discovers them (static_configs, file_sd_configs), builds them, and keeps one
/// <see cref="ScrapeLoop"/> per target, starting loops for new targets and stopping those that disappeared.
/// </summary>
internal sealed class ScrapePool : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly ScrapeDependencies _deps;
    private readonly List<FileSdDiscovery> _fileSd = [];
    private readonly SemaphoreSlim _syncLock = new(1, 1);
    private Dictionary<ulong, ScrapeLoop> _loops = [];
    private IReadOnlyList<DroppedTarget> _dropped = [];
    private bool _disposed;

    public ScrapePool(ScrapeConfig config, ScrapeDependencies deps, string configDirectory)
    {
        Config = config;
        _deps = deps;
        _client = ScrapeHttpClient.Create(config);
        foreach (var fileSd in config.FileSdConfigs)
        {
            _fileSd.Add(new FileSdDiscovery(fileSd, configDirectory, deps.Logger, () => _ = SyncAsync()));
        }
    }

    public ScrapeConfig Config { get; }

    public IReadOnlyList<ScrapeTarget> ActiveTargets
    {
        get
        {
            var loops = Volatile.Read(ref _loops);
            return loops.Values.Select(l => l.Target).OrderBy(t => t.Url.OriginalString, StringComparer.Ordinal).ToList();
        }
    }

    public IReadOnlyList<DroppedTarget> DroppedTargets => Volatile.Read(ref _dropped);

    private IEnumerable<TargetGroup> Groups()
    {
        for (var i = 0; i < Config.StaticConfigs.Count; i++)
        {
            var sc = Config.StaticConfigs[i];
            var targets = sc.Targets.Select(t => (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(StringComparer.Ordinal) { [TargetBuilder.AddressLabel] = t }).ToList();
            yield return new TargetGroup($"static/{i}", targets, sc.Labels);
        }

        foreach (var fileSd in _fileSd)
        {
            foreach (var group in fileSd.Groups())
            {
                yield return group;
            }
        }
    }

    /// <summary>Rebuilds the target list from discovery and reconciles the running loops.</summary>
    public async Task SyncAsync()
    {
        await _syncLock.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            var active = new List<ScrapeTarget>();
            var dropped = new List<DroppedTarget>();
            foreach (var group in Groups())
            {
                TargetBuilder.Build(Config, group, active, dropped);
            }

            var next = new Dictionary<ulong, ScrapeLoop>();
            var stopping = new List<ScrapeLoop>();
            foreach (var target in active)
            {
                if (next.ContainsKey(target.Hash))
                {
                    continue; // the same address listed twice
                }

                if (_loops.TryGetValue(target.Hash, out var existing))
                {
                    next[target.Hash] = existing;
                }
                else
                {
                    var loop = new ScrapeLoop(target, Config, _client, _deps.Writer, _deps.Metrics, _deps.Logger, _deps.MaxProfileBytes, _deps.Limits);
                    next[target.Hash] = loop;
                    loop.Start(_deps.Time);
                }
            }

            foreach (var (hash, loop) in _loops)
            {
                if (!next.ContainsKey(hash))
                {
                    stopping.Add(loop);
                }
            }

            Volatile.Write(ref _loops, next);
            Volatile.Write(ref _dropped, dropped);
            foreach (var d in dropped)
            {
                if (d.Reason != "dropped by relabeling")
                {
                    ScrapeLog.TargetDropped(_deps.Logger, Config.JobName, string.Join(",", d.DiscoveredLabels.Select(l => $"{l.Key}={l.Value}")), d.Reason);
                }
            }

            ScrapeLog.JobSynced(_deps.Logger, Config.JobName, next.Count, dropped.Count);
            await Task.WhenAll(stopping.Select(l => l.DisposeAsync().AsTask()));
        }
        finally
        {
            _syncLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _syncLock.WaitAsync();
        try
        {
            _disposed = true;
            foreach (var fileSd in _fileSd)
            {
                fileSd.Dispose();
            }

            await Task.WhenAll(_loops.Values.Select(l => l.DisposeAsync().AsTask()));
            _loops = [];
            _client.Dispose();
        }
        finally
        {
            _syncLock.Release();
        }
    }
}

/// <summary>What every pool needs from the manager.</summary>
internal sealed record ScrapeDependencies(
    IProfileWriter Writer,
    ScrapeMetrics Metrics,
    ILogger Logger,
    TimeProvider Time,
    int MaxProfileBytes,
    IngestLimits? Limits = null);
