using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Parca.Scrape.Config;

/// <summary>
/// Loads <c>--config-path</c> at start-up (an invalid file stops the server, like Parca) and reloads it when the
/// file changes or the process gets SIGHUP. A reload that fails keeps the last good configuration running and
/// logs every problem. A missing file at start-up runs the server without scrape jobs (logged).
/// </summary>
public sealed class ConfigReloader : IHostedService, IDisposable
{
    private readonly string _path;
    private readonly ScrapeManager _manager;
    private readonly ILogger<ConfigReloader> _logger;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private readonly Counter<long> _reloads;
    private readonly Meter _meter;
    private FileSystemWatcher? _watcher;
    private PosixSignalRegistration? _sighup;
    private Timer? _debounce;
    private int _lastSuccessful = 1;

    public ConfigReloader(ScrapeOptions options, ScrapeManager manager, ILogger<ConfigReloader> logger, IMeterFactory meters)
    {
        _path = Path.GetFullPath(options.ConfigPath);
        _manager = manager;
        _logger = logger;
        _meter = meters.Create(ScrapeMetrics.MeterName);
        _reloads = _meter.CreateCounter<long>("parca_config_reloads_total", null, "Configuration reloads, by result (success, failure).");
        _meter.CreateObservableGauge("parca_config_last_reload_successful", () => Volatile.Read(ref _lastSuccessful), null, "1 if the last configuration (re)load succeeded.");
    }

    /// <summary>The configuration in effect (the last one that loaded), or null before the first.</summary>
    public ParcaConfig? Current { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_path))
        {
            ConfigLog.Missing(_logger, _path);
        }
        else
        {
            var config = ConfigLoader.LoadFile(_path);
            await ApplyAsync(config);
        }

        var dir = Path.GetDirectoryName(_path)!;
        if (Directory.Exists(dir))
        {
            _debounce = new Timer(_ => _ = ReloadAsync("file change"));
            _watcher = new FileSystemWatcher(dir, Path.GetFileName(_path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };

            // Editors save by writing, or by renaming a temporary file over the original: wait for the burst to end.
            FileSystemEventHandler changed = (_, _) => _debounce.Change(TimeSpan.FromMilliseconds(250), Timeout.InfiniteTimeSpan);
            _watcher.Changed += changed;
            _watcher.Created += changed;
            _watcher.Renamed += (_, _) => _debounce.Change(TimeSpan.FromMilliseconds(250), Timeout.InfiniteTimeSpan);
            _watcher.EnableRaisingEvents = true;
        }

        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP means "reload", not "hang up"
                _ = ReloadAsync("SIGHUP");
            });
        }
    }

    /// <summary>Reloads now; returns false (and keeps the running configuration) when the file is invalid.</summary>
    public async Task<bool> ReloadAsync(string trigger = "request")
    {
        await _reloadLock.WaitAsync();
        try
        {
            var config = ConfigLoader.LoadFile(_path);
            await ApplyAsync(config);
            ConfigLog.Reloaded(_logger, _path, trigger, config.ScrapeConfigs.Count);
            return true;
        }
        catch (ConfigException e)
        {
            Volatile.Write(ref _lastSuccessful, 0);
            _reloads.Add(1, new KeyValuePair<string, object?>("result", "failure"));
            ConfigLog.ReloadFailed(_logger, _path, trigger, string.Join("; ", e.Problems));
            return false;
        }
        finally
        {
            _reloadLock.Release();
        }
    }

    private async Task ApplyAsync(ParcaConfig config)
    {
        await _manager.ApplyConfigAsync(config, Path.GetDirectoryName(_path)!);
        Current = config;
        Volatile.Write(ref _lastSuccessful, 1);
        _reloads.Add(1, new KeyValuePair<string, object?>("result", "success"));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        await _manager.DisposeAsync();
    }

    public void Dispose()
    {
        _sighup?.Dispose();
        _sighup = null;
        _watcher?.Dispose();
        _watcher = null;
        _debounce?.Dispose();
        _debounce = null;
        _meter.Dispose();
    }
}

internal static partial class ConfigLog
{
    [LoggerMessage(200, LogLevel.Warning, "config file {Path} does not exist: running without scrape jobs (create it and send SIGHUP, or restart)")]
    public static partial void Missing(ILogger logger, string path);

    [LoggerMessage(201, LogLevel.Information, "config reloaded: path={Path} trigger={Trigger} jobs={Jobs}")]
    public static partial void Reloaded(ILogger logger, string path, string trigger, int jobs);

    [LoggerMessage(202, LogLevel.Error, "config reload failed, keeping the last good configuration: path={Path} trigger={Trigger} err={Error}")]
    public static partial void ReloadFailed(ILogger logger, string path, string trigger, string error);
}
