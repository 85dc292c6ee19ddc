using System.Text.Json;
using Microsoft.Extensions.Logging;
using Parca.Scrape.Config;
using YamlDotNet.RepresentationModel;

namespace Parca.Scrape.Discovery;

/// <summary>
/// Prometheus <c>file_sd_configs</c>: JSON or YAML files (globs allowed in the file name) listing
/// <c>{targets: [...], labels: {...}}</c> groups. Re-read when a watched directory changes and every
/// refresh_interval; a file that cannot be parsed keeps its previous groups (Prometheus does the same).
/// Each target gets <c>__meta_filepath</c>.
/// </summary>
internal sealed class FileSdDiscovery : IDisposable
{
    private readonly FileSdConfig _config;
    private readonly string _baseDirectory;
    private readonly ILogger _logger;
    private readonly Action _changed;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private Dictionary<string, List<TargetGroup>> _byFile = new(StringComparer.Ordinal);

    public FileSdDiscovery(FileSdConfig config, string baseDirectory, ILogger logger, Action changed)
    {
        _config = config;
        _baseDirectory = baseDirectory;
        _logger = logger;
        _changed = changed;
        Refresh(notify: false);
        foreach (var dir in config.Files.Select(f => Path.GetDirectoryName(Resolve(f))!).Distinct(StringComparer.Ordinal))
        {
            if (!Directory.Exists(dir))
            {
                continue;
            }

            var watcher = new FileSystemWatcher(dir) { IncludeSubdirectories = false, NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size };
            watcher.Changed += (_, _) => Refresh(notify: true);
            watcher.Created += (_, _) => Refresh(notify: true);
            watcher.Deleted += (_, _) => Refresh(notify: true);
            watcher.Renamed += (_, _) => Refresh(notify: true);
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }

        var period = config.RefreshInterval > TimeSpan.Zero ? config.RefreshInterval : TimeSpan.FromMinutes(5);
        _timer = new Timer(_ => Refresh(notify: true), null, period, period);
    }

    public IEnumerable<TargetGroup> Groups()
    {
        lock (_lock)
        {
            return _byFile.Values.SelectMany(g => g).ToList();
        }
    }

    private string Resolve(string file) => Path.GetFullPath(Path.IsPathRooted(file) ? file : Path.Combine(_baseDirectory, file));

    internal void Refresh(bool notify)
    {
        var next = new Dictionary<string, List<TargetGroup>>(StringComparer.Ordinal);
        Dictionary<string, List<TargetGroup>> previous;
        lock (_lock)
        {
            previous = _byFile;
        }

        foreach (var pattern in _config.Files)
        {
            var full = Resolve(pattern);
            var dir = Path.GetDirectoryName(full)!;
            var name = Path.GetFileName(full);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(dir, name).Order(StringComparer.Ordinal))
            {
                try
                {
                    next[file] = Read(file);
                }
                catch (Exception e) when (e is IOException or JsonException or InvalidDataException or YamlDotNet.Core.YamlException or UnauthorizedAccessException)
                {
                    ScrapeLog.FileSdError(_logger, file, e.Message);
                    if (previous.TryGetValue(file, out var old))
                    {
                        next[file] = old;
                    }
                }
            }
        }

        bool changed;
        lock (_lock)
        {
            changed = !Same(_byFile, next);
            _byFile = next;
        }

        if (changed && notify)
        {
            _changed();
        }
    }

    internal static List<TargetGroup> Read(string file)
    {
        var text = File.ReadAllText(file);
        var groups = new List<TargetGroup>();
        var raw = Path.GetExtension(file) == ".json" ? ParseJson(text) : ParseYaml(text);
        for (var i = 0; i < raw.Count; i++)
        {
            var (targets, labels) = raw[i];
            labels["__meta_filepath"] = file;
            var list = new List<IReadOnlyDictionary<string, string>>();
            foreach (var target in targets)
            {
                if (target.Contains('/', StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"group {i}: \"{target}\" is not a valid hostname");
                }

                list.Add(new Dictionary<string, string>(StringComparer.Ordinal) { [TargetBuilder.AddressLabel] = target });
            }

            groups.Add(new TargetGroup($"{file}:{i}", list, labels));
        }

        return groups;
    }

    private static List<(List<string> Targets, Dictionary<string, string> Labels)> ParseJson(string text)
    {
        var result = new List<(List<string>, Dictionary<string, string>)>();
        using var doc = JsonDocument.Parse(text);
        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException("expected a JSON array of target groups");
        }

        foreach (var group in doc.RootElement.EnumerateArray())
        {
            var targets = new List<string>();
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in group.EnumerateObject())
            {
                switch (prop.Name)
                {
                    case "targets":
                        targets.AddRange(prop.Value.EnumerateArray().Select(t => t.GetString() ?? ""));
                        break;
                    case "labels":
                        foreach (var label in prop.Value.EnumerateObject())
                        {
                            labels[label.Name] = label.Value.GetString() ?? "";
                        }

                        break;
                    default:
                        throw new InvalidDataException($"unknown field \"{prop.Name}\" in a target group");
                }
            }

            result.Add((targets, labels));
        }

        return result;
    }

    private static List<(List<string> Targets, Dictionary<string, string> Labels)> ParseYaml(string text)
    {
        var result = new List<(List<string>, Dictionary<string, string>)>();
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        if (stream.Documents.Count == 0)
        {
            return result;
        }

        if (stream.Documents[0].RootNode is not YamlSequenceNode root)
        {
            throw new InvalidDataException("expected a YAML list of target groups");
        }

        foreach (var node in root)
        {
            var targets = new List<string>();
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (node is not YamlMappingNode group)
            {
                throw new InvalidDataException($"line {node.Start.Line}: expected a target group mapping");
            }

            foreach (var (key, value) in group.Children)
            {
                switch (((YamlScalarNode)key).Value)
                {
                    case "targets" when value is YamlSequenceNode seq:
                        targets.AddRange(seq.Children.Select(t => ((YamlScalarNode)t).Value ?? ""));
                        break;
                    case "labels" when value is YamlMappingNode map:
                        foreach (var (k, v) in map.Children)
                        {
                            labels[((YamlScalarNode)k).Value ?? ""] = ((YamlScalarNode)v).Value ?? "";
                        }

                        break;
                    default:
                        throw new InvalidDataException($"line {key.Start.Line}: unexpected field \"{key}\" in a target group");
                }
            }

            result.Add((targets, labels));
        }

        return result;
    }

    private static bool Same(Dictionary<string, List<TargetGroup>> a, Dictionary<string, List<TargetGroup>> b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (file, groups) in a)
        {
            if (!b.TryGetValue(file, out var other) || other.Count != groups.Count)
            {
                return false;
            }

            for (var i = 0; i < groups.Count; i++)
            {
                if (!SameGroup(groups[i], other[i]))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool SameGroup(TargetGroup a, TargetGroup b) =>
        a.Targets.Count == b.Targets.Count
        && a.Labels.Count == b.Labels.Count
        && a.Labels.All(kv => b.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value)
        && a.Targets.Zip(b.Targets).All(p => p.First[TargetBuilder.AddressLabel] == p.Second[TargetBuilder.AddressLabel]);

    public void Dispose()
    {
        _timer.Dispose();
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }
    }
}
