using Parca.Scrape.Config;

namespace Parca.Scrape;

public enum TargetHealth
{
    Unknown = 0,
    Good = 1,
    Bad = 2,
}

/// <summary>One (address × profile) scrape target with its labels and its latest scrape outcome.</summary>
public sealed class ScrapeTarget
{
    private readonly Lock _lock = new();
    private TargetHealth _health;
    private string _lastError = "";
    private DateTimeOffset _lastScrape;
    private TimeSpan _lastDuration;

    internal ScrapeTarget(
        string job,
        string profileName,
        PprofProfilingConfig profile,
        Uri url,
        IReadOnlyList<KeyValuePair<string, string>> labels,
        IReadOnlyList<KeyValuePair<string, string>> discoveredLabels,
        ulong hash)
    {
        Job = job;
        ProfileName = profileName;
        Profile = profile;
        Url = url;
        DisplayUrl = UrlRedaction.Redact(url);
        Labels = labels;
        DiscoveredLabels = discoveredLabels;
        Hash = hash;
    }

    public string Job { get; }

    public string ProfileName { get; }

    internal PprofProfilingConfig Profile { get; }

    public Uri Url { get; }

    /// <summary>The URL with credentials redacted: what logs, traces and the targets API show.</summary>
    public string DisplayUrl { get; }

    /// <summary>The labels every profile of this target is stored with, sorted, <c>__name__</c> included.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; }

    /// <summary>The labels before relabeling (what discovery produced), sorted.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> DiscoveredLabels { get; }

    /// <summary>Stable identity (labels and URL); also places the target's scrapes within the interval.</summary>
    internal ulong Hash { get; }

    public TargetHealth Health
    {
        get
        {
            lock (_lock)
            {
                return _health;
            }
        }
    }

    public (TargetHealth Health, string LastError, DateTimeOffset LastScrape, TimeSpan LastDuration) State()
    {
        lock (_lock)
        {
            return (_health, _lastError, _lastScrape, _lastDuration);
        }
    }

    internal void Report(DateTimeOffset start, TimeSpan duration, string? error)
    {
        lock (_lock)
        {
            _lastScrape = start;
            _lastDuration = duration;
            _health = error is null ? TargetHealth.Good : TargetHealth.Bad;
            _lastError = error ?? "";
        }
    }

    /// <summary>When to first scrape: at the same offset inside every interval, spreading targets evenly.</summary>
    internal TimeSpan InitialDelay(TimeSpan interval, DateTimeOffset now)
    {
        var intervalTicks = interval.Ticks;
        var offset = (long)(Hash % (ulong)intervalTicks);
        var baseTicks = now.UtcTicks - (now.UtcTicks % intervalTicks);
        var next = baseTicks + offset;
        if (next < now.UtcTicks)
        {
            next += intervalTicks;
        }

        return TimeSpan.FromTicks(next - now.UtcTicks);
    }
}

/// <summary>A discovered target that relabeling (or an error) dropped: shown as STATE_DROPPED.</summary>
public sealed record DroppedTarget(string Job, IReadOnlyList<KeyValuePair<string, string>> DiscoveredLabels, string Reason);
