namespace Parca.Scrape;

/// <summary>A group of discovered targets sharing labels, as static_configs and file_sd files describe them.</summary>
/// <param name="Source">Identifies the group within its discoverer (<c>static/0</c>, <c>/etc/targets.json:2</c>).</param>
/// <param name="Targets">Per target its own labels; <c>__address__</c> always set.</param>
/// <param name="Labels">Labels of the whole group (target labels take precedence).</param>
internal sealed record TargetGroup(string Source, IReadOnlyList<IReadOnlyDictionary<string, string>> Targets, IReadOnlyDictionary<string, string> Labels);
