using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Parca.Scrape.Config;

namespace Parca.Server.Tests;

/// <summary>
/// Fuzz properties of the configuration loader (parca.yaml with scrape jobs, TLS and relabel rules, reloaded on
/// change): any text and byte-mutated corpus files (corpus/config) either load or fail with one
/// <see cref="ConfigException"/> that names the file; never another exception.
/// </summary>
public sealed class ConfigProperties
{
    private static readonly string[] s_corpus = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "corpus", "config")).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void The_corpus_loads_as_written()
    {
        foreach (var file in s_corpus)
        {
            Assert.NotEmpty(ConfigLoader.Parse(File.ReadAllText(file), file).ScrapeConfigs);
        }
    }

    [Property(MaxTest = 500)]
    public void Any_text_loads_or_is_a_config_error(string? text) => LoadOrRefuse(text ?? "");

    [Property(MaxTest = 1000)]
    public void Mutated_configs_load_or_are_a_config_error(NonNegativeInt pick, int[]? positions, byte[]? values)
    {
        var bytes = File.ReadAllBytes(s_corpus[pick.Get % s_corpus.Length]);
        positions ??= [];
        values ??= [];
        for (var i = 0; i < Math.Min(positions.Length, values.Length); i++)
        {
            bytes[(int)((uint)positions[i] % (uint)bytes.Length)] = values[i];
        }

        LoadOrRefuse(Encoding.UTF8.GetString(bytes));
    }

    private static void LoadOrRefuse(string yaml)
    {
        try
        {
            _ = ConfigLoader.Parse(yaml, "fuzzed.yaml");
        }
        catch (ConfigException e)
        {
            Assert.Contains("fuzzed.yaml", e.Message, StringComparison.Ordinal);
        }
    }

    // Regression test: input that crashed the loader before (YamlDotNet's InvalidOperationException escaped).

    [Fact]
    public void The_file_that_made_the_yaml_scanner_throw_is_a_config_error()
    {
        // Found by Mutated_configs_load_or_are_a_config_error: a NUL first byte and a "[" before the bucket mapping.
        var file = Path.Combine(AppContext.BaseDirectory, "corpus", "regressions", "yaml-scanner-invalid-operation.yaml");
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(File.ReadAllText(file), "fuzzed.yaml"));
        Assert.Contains("fuzzed.yaml: not valid YAML (the parser stopped on malformed input)", e.Message, StringComparison.Ordinal);
    }
}
