using System.Globalization;
using System.Text;
using Parca.Scrape.Config;

namespace Parca.Scrape;

/// <summary>
/// Turns discovered target groups into scrape targets the way Parca does: one target per address and enabled
/// profile; <c>job</c>, <c>__scheme__</c>, <c>__profile_path__</c>, <c>__name__</c> and <c>__param_*</c> set before
/// relabeling; afterwards <c>__meta_*</c> dropped, a default port added, <c>instance</c> defaulted to the address and
/// the URL built from the reserved labels, which are not stored.
/// </summary>
internal static class TargetBuilder
{
    public const string AddressLabel = "__address__";
    public const string SchemeLabel = "__scheme__";
    public const string ProfilePathLabel = "__profile_path__";
    public const string MetricsPathLabel = "__metrics_path__";
    public const string NameLabel = "__name__";
    public const string ParamPrefix = "__param_";
    public const string MetaPrefix = "__meta_";

    public static void Build(
        ScrapeConfig job,
        TargetGroup group,
        List<ScrapeTarget> active,
        List<DroppedTarget> dropped)
    {
        foreach (var target in group.Targets)
        {
            foreach (var (name, profile) in job.ProfilingConfig.PprofConfig)
            {
                if (!profile.Enabled)
                {
                    continue;
                }

                var labels = new Dictionary<string, string>(group.Labels, StringComparer.Ordinal);
                foreach (var (k, v) in target)
                {
                    labels[k] = v;
                }

                labels[ProfilePathLabel] = job.ProfilingConfig.PathPrefix + profile.Path;
                labels[NameLabel] = name;
                labels.TryAdd("job", job.JobName);
                labels.TryAdd(SchemeLabel, job.Scheme);
                foreach (var (param, values) in job.Params)
                {
                    if (values.Count > 0)
                    {
                        labels.TryAdd(ParamPrefix + param, values[0]);
                    }
                }

                var discovered = Sorted(labels);
                var error = job.Relabeler.Process(labels) ? Finish(job, name, profile, labels, discovered, active) : "dropped by relabeling";

                if (error is not null)
                {
                    dropped.Add(new DroppedTarget(job.JobName, discovered, error));
                }
            }
        }
    }

    private static string? Finish(
        ScrapeConfig job,
        string profileName,
        PprofProfilingConfig profile,
        Dictionary<string, string> relabeled,
        IReadOnlyList<KeyValuePair<string, string>> discovered,
        List<ScrapeTarget> active)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in relabeled)
        {
            if (!k.StartsWith(MetaPrefix, StringComparison.Ordinal) && v.Length > 0)
            {
                labels[k] = v;
            }
        }

        if (!labels.TryGetValue(AddressLabel, out var address) || address.Length == 0)
        {
            return "no address (__address__ is empty after relabeling)";
        }

        var scheme = labels.GetValueOrDefault(SchemeLabel, job.Scheme);
        if (scheme is not ("http" or "https"))
        {
            return $"invalid scheme \"{scheme}\"";
        }

        if (address.Contains('/', StringComparison.Ordinal))
        {
            return $"\"{address}\" is not a valid hostname";
        }

        address = AddPort(address, scheme);
        labels[AddressLabel] = address;
        labels.TryAdd("instance", address);
        if (!labels.TryGetValue(NameLabel, out var name) || name.Length == 0)
        {
            labels[NameLabel] = name = profileName;
        }

        var path = labels.GetValueOrDefault(ProfilePathLabel, job.ProfilingConfig.PathPrefix + profile.Path);
        var url = BuildUrl(job, profile, scheme, address, path, labels);
        if (url is null)
        {
            return $"cannot build a URL from scheme \"{scheme}\", address \"{address}\", path \"{path}\"";
        }

        var stored = new List<KeyValuePair<string, string>>(labels.Count);
        foreach (var (k, v) in labels)
        {
            if (k == NameLabel || !k.StartsWith("__", StringComparison.Ordinal))
            {
                stored.Add(new(k, v));
            }
        }

        stored.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        active.Add(new ScrapeTarget(job.JobName, name, profile, url, stored, discovered, Hash(stored, url)));
        return null;
    }

    private static Uri? BuildUrl(ScrapeConfig job, PprofProfilingConfig profile, string scheme, string address, string path, Dictionary<string, string> labels)
    {
        var query = new StringBuilder();
        var parameters = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (k, v) in job.Params)
        {
            parameters[k] = [.. v];
        }

        foreach (var (k, v) in labels)
        {
            if (k.StartsWith(ParamPrefix, StringComparison.Ordinal))
            {
                var param = k[ParamPrefix.Length..];
                if (parameters.TryGetValue(param, out var values) && values.Count > 0)
                {
                    values[0] = v;
                }
                else
                {
                    parameters[param] = [v];
                }
            }
        }

        if (profile.Delta)
        {
            var seconds = profile.Seconds > 0 ? profile.Seconds : (int)job.ScrapeInterval.TotalSeconds;
            parameters["seconds"] = [seconds.ToString(CultureInfo.InvariantCulture)];
        }

        foreach (var (k, values) in parameters)
        {
            foreach (var v in values)
            {
                query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
            }
        }

        if (!path.StartsWith('/'))
        {
            path = "/" + path;
        }

        return Uri.TryCreate($"{scheme}://{address}{path}{query}", UriKind.Absolute, out var uri) ? uri : null;
    }

    /// <summary>Adds :80 or :443 when the address has no port (IPv6 literals in brackets understood).</summary>
    internal static string AddPort(string address, string scheme)
    {
        var hasPort = address.StartsWith('[')
            ? address.Contains("]:", StringComparison.Ordinal)
            : address.Contains(':', StringComparison.Ordinal);
        return hasPort ? address : $"{address}:{(scheme == "https" ? 443 : 80)}";
    }

    internal static IReadOnlyList<KeyValuePair<string, string>> Sorted(IReadOnlyDictionary<string, string> labels)
    {
        var list = new List<KeyValuePair<string, string>>(labels);
        list.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return list;
    }

    /// <summary>FNV-1a over labels and URL: stable across restarts, so a target keeps its place in the interval.</summary>
    internal static ulong Hash(IReadOnlyList<KeyValuePair<string, string>> labels, Uri url)
    {
        var hash = 14695981039346656037UL;
        foreach (var (k, v) in labels)
        {
            hash = Mix(Mix(Mix(hash, k), "\xff"), v);
            hash = Mix(hash, "\xfe");
        }

        return Mix(hash, url.OriginalString);
    }

    private static ulong Mix(ulong hash, string text)
    {
        foreach (var c in text)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return hash;
    }
}
