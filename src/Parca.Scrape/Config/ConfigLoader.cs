using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Parca.Scrape.Config;

/// <summary>
/// Loads <c>parca.yaml</c> strictly: unknown fields, wrong types and invalid values are reported with their line and
/// column and the path of the field (<c>scrape_configs[0].scrape_interval</c>), all problems at once.
/// Walks YamlDotNet's node model by hand rather than deserializing, so every check can point at its node.
/// </summary>
public sealed partial class ConfigLoader
{
    private readonly string _source;
    private readonly List<string> _problems = [];

    private ConfigLoader(string source) => _source = source;

    public static ParcaConfig LoadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"cannot read {path}: {e.Message}", e);
        }

        return Parse(text, path);
    }

    /// <summary>Parses configuration text; <paramref name="source"/> names it in error messages.</summary>
    public static ParcaConfig Parse(string yaml, string source = "parca.yaml")
    {
        var loader = new ConfigLoader(source);
        var config = loader.ParseDocument(yaml);
        if (loader._problems.Count > 0)
        {
            throw new ConfigException(source, loader._problems);
        }

        return config!;
    }

    private ParcaConfig? ParseDocument(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            _problems.Add($"{_source}:{e.Start.Line}:{e.Start.Column}: {StripMark(e.Message)}");
            return null;
        }
        catch (ArgumentException e)
        {
            // YamlDotNet reports duplicate mapping keys this way.
            _problems.Add($"{_source}: {e.Message}");
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner gives up this way on some malformed input (found by ConfigProperties: a NUL byte
            // ahead of a flow sequence); it is still the file's fault, not the server's.
            _problems.Add($"{_source}: not valid YAML (the parser stopped on malformed input)");
            return null;
        }

        var config = new ParcaConfig();
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            _problems.Add($"{_source}: the file is empty; object_storage is required");
            return config;
        }

        if (stream.Documents.Count > 1)
        {
            Problem(stream.Documents[1].RootNode, "", "only one YAML document is allowed");
        }

        var root = stream.Documents[0].RootNode;
        var sawObjectStorage = false;
        foreach (var (key, value) in Fields(root, ""))
        {
            switch (key)
            {
                case "object_storage":
                    sawObjectStorage = true;
                    config.ObjectStorage = ReadObjectStorage(value, "object_storage");
                    break;
                case "scrape_configs":
                    var index = 0;
                    foreach (var item in Sequence(value, "scrape_configs"))
                    {
                        var job = ReadScrapeConfig(item, $"scrape_configs[{index++}]");
                        if (job is not null)
                        {
                            config.ScrapeConfigs.Add(job);
                        }
                    }

                    break;
                default:
                    Unknown(root, key, "", "object_storage", "scrape_configs");
                    break;
            }
        }

        if (!sawObjectStorage)
        {
            Problem(root, "object_storage", "is required");
        }

        CheckUniqueJobNames(config, root);
        return config;
    }

    private ObjectStorageConfig ReadObjectStorage(YamlNode node, string path)
    {
        var result = new ObjectStorageConfig();
        var sawBucket = false;
        foreach (var (key, value) in Fields(node, path))
        {
            if (key != "bucket")
            {
                Unknown(node, key, path, "bucket");
                continue;
            }

            sawBucket = true;
            var bucketPath = path + ".bucket";
            foreach (var (bkey, bvalue) in Fields(value, bucketPath))
            {
                switch (bkey)
                {
                    case "type":
                        result.Bucket.Type = Str(bvalue, bucketPath + ".type").ToUpperInvariant();
                        break;
                    case "prefix":
                        result.Bucket.Prefix = Str(bvalue, bucketPath + ".prefix");
                        break;
                    case "config":
                        foreach (var (ckey, cvalue) in Fields(bvalue, bucketPath + ".config"))
                        {
                            result.Bucket.Config[ckey] = Str(cvalue, $"{bucketPath}.config.{ckey}");
                        }

                        break;
                    default:
                        Unknown(value, bkey, bucketPath, "type", "config", "prefix");
                        break;
                }
            }

            if (result.Bucket.Type.Length == 0)
            {
                Problem(value, bucketPath + ".type", "is required (FILESYSTEM)");
            }
            else if (!ConfigDefaults.BucketTypes.Contains(result.Bucket.Type))
            {
                Problem(value, bucketPath + ".type", $"unknown bucket type '{result.Bucket.Type}' (known: {string.Join(", ", ConfigDefaults.BucketTypes)})");
            }
            else if (result.Bucket.Type == "FILESYSTEM" && !result.Bucket.Config.ContainsKey("directory"))
            {
                Problem(value, bucketPath + ".config.directory", "is required for a FILESYSTEM bucket");
            }
            else if (result.Bucket.Type == "S3")
            {
                CheckS3(value, bucketPath + ".config", result.Bucket.Config);
            }
        }

        if (!sawBucket)
        {
            Problem(node, path + ".bucket", "is required");
        }

        return result;
    }

    private void CheckS3(YamlNode node, string path, Dictionary<string, string> config)
    {
        if (!config.TryGetValue("bucket", out var name) || name.Length < 3)
        {
            Problem(node, path + ".bucket", "is required for an S3 bucket (3 characters or more)");
        }

        foreach (var flag in new[] { "insecure", "force_path_style" })
        {
            if (config.TryGetValue(flag, out var v) && v is not ("true" or "false"))
            {
                Problem(node, $"{path}.{flag}", $"must be true or false, got '{v}'");
            }
        }

        if (config.TryGetValue("bucket_lookup_type", out var lookup) && lookup is not ("auto" or "path" or "virtual-hosted"))
        {
            Problem(node, path + ".bucket_lookup_type", $"must be auto, path or virtual-hosted, got '{lookup}'");
        }

        if (config.TryGetValue("part_size", out var part) && !long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            Problem(node, path + ".part_size", $"must be a number of bytes, got '{part}'");
        }
    }

    private void CheckUniqueJobNames(ParcaConfig config, YamlNode root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var job in config.ScrapeConfigs)
        {
            if (job.JobName.Length > 0 && !seen.Add(job.JobName))
            {
                Problem(root, "scrape_configs", $"found multiple scrape configs with job name \"{job.JobName}\"");
            }
        }
    }

    // ---- node helpers: every one reports a problem at the node and returns a harmless value -------------------

    private IEnumerable<(string Key, YamlNode Value)> Fields(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null" } && node is YamlScalarNode { Style: not ScalarStyle.SingleQuoted and not ScalarStyle.DoubleQuoted })
        {
            yield break;
        }

        if (node is not YamlMappingNode mapping)
        {
            Problem(node, path, $"expected a mapping, got {Describe(node)}");
            yield break;
        }

        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Problem(keyNode, path, "mapping keys must be plain strings");
                continue;
            }

            yield return (key, value);
        }
    }

    private IEnumerable<YamlNode> Sequence(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: null or "" or "~" or "null", Style: ScalarStyle.Plain or ScalarStyle.Any })
        {
            yield break;
        }

        if (node is not YamlSequenceNode sequence)
        {
            Problem(node, path, $"expected a list, got {Describe(node)}");
            yield break;
        }

        foreach (var item in sequence.Children)
        {
            yield return item;
        }
    }

    private string Str(YamlNode node, string path)
    {
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value ?? "";
        }

        Problem(node, path, $"expected a string, got {Describe(node)}");
        return "";
    }

    private List<string> StrList(YamlNode node, string path)
    {
        var list = new List<string>();
        var i = 0;
        foreach (var item in Sequence(node, path))
        {
            list.Add(Str(item, $"{path}[{i++}]"));
        }

        return list;
    }

    private bool Bool(YamlNode node, string path)
    {
        var text = Str(node, path);
        switch (text)
        {
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            default:
                Problem(node, path, $"expected true or false, got '{text}'");
                return false;
        }
    }

    private long Int(YamlNode node, string path)
    {
        var text = Str(node, path);
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        Problem(node, path, $"expected an integer, got '{text}'");
        return 0;
    }

    /// <summary>Prometheus' byte sizes: a number with B, KB, MB, GB or TB (powers of 1024, as Prometheus reads them); 0 = none.</summary>
    private long ByteSize(YamlNode node, string path)
    {
        var text = Str(node, path).Trim();
        var units = new (string Suffix, long Factor)[] { ("TB", 1L << 40), ("GB", 1L << 30), ("MB", 1L << 20), ("KB", 1L << 10), ("B", 1) };
        foreach (var (suffix, factor) in units)
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) &&
                long.TryParse(text.AsSpan(0, text.Length - suffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var number) &&
                number <= long.MaxValue / factor)
            {
                return number * factor;
            }
        }

        if (text == "0")
        {
            return 0;
        }

        Problem(node, path, $"not a valid size: \"{text}\" (use e.g. 0, 512KB, 10MB, 1GB)");
        return 0;
    }

    private TimeSpan Duration(YamlNode node, string path)
    {
        var text = Str(node, path);
        if (PromDuration.TryParse(text, out var value))
        {
            return value;
        }

        Problem(node, path, $"not a valid duration string: \"{text}\" (use e.g. 10s, 1m30s, 500ms)");
        return TimeSpan.Zero;
    }

    private void Unknown(YamlNode mapping, string key, string path, params string[] known)
    {
        var keyNode = mapping is YamlMappingNode m ? m.Children.Keys.FirstOrDefault(k => k is YamlScalarNode s && s.Value == key) ?? mapping : mapping;
        var where = path.Length == 0 ? "the top level" : path;
        Problem(keyNode, "", $"field {key} not found in {where} (known fields: {string.Join(", ", known)})");
    }

    private void Problem(YamlNode node, string path, string message)
    {
        var prefix = $"{_source}:{node.Start.Line}:{node.Start.Column}: ";
        _problems.Add(path.Length == 0 ? prefix + message : $"{prefix}{path}: {message}");
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s => $"'{s.Value}'",
        _ => node.NodeType.ToString(),
    };

    private static string StripMark(string message)
    {
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: ...): "; we print our own position.
        var i = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line", StringComparison.Ordinal) && i > 0 ? message[(i + 3)..] : message;
    }
}
