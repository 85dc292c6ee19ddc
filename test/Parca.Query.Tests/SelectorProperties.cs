using FsCheck;
using FsCheck.Xunit;
using Parca.Query.Engine;
using Parca.Query.Selectors;

namespace Parca.Query.Tests;

/// <summary>
/// Fuzz properties of the selector parser (every query request carries one): any text, and mutations of a corpus of
/// valid selectors, either parse or fail with InvalidArgument; a parsed selector's matchers hold what the text said.
/// </summary>
public sealed class SelectorProperties
{
    private static readonly string[] s_corpus =
    [
        "process_cpu:samples:count:cpu:nanoseconds:delta{}",
        "process_cpu:samples:count:cpu:nanoseconds:delta{job=\"api\", instance!=\"a:1\"}",
        "memory:alloc_space:bytes:space:bytes{pod=~\"web-.*\",namespace!~\"kube-(system|public)\"}",
        "parca_agent_cpu:samples:count:cpu:nanoseconds:delta{comm=\"a\\\"b\\\\c\", node=\"\"}",
        "goroutine:goroutine:count:goroutine:count{job=~\"(a|aa)+$\"}",
    ];

    [Property(MaxTest = 1000)]
    public void Any_text_parses_or_is_invalid_argument(string? text) => ParseOrRefuse(text ?? "");

    [Property(MaxTest = 1000)]
    public void Mutated_selectors_parse_or_are_invalid_argument(NonNegativeInt pick, int[]? positions, char[]? values, NonNegativeInt cut)
    {
        var chars = s_corpus[pick.Get % s_corpus.Length].ToCharArray();
        positions ??= [];
        values ??= [];
        for (var i = 0; i < Math.Min(positions.Length, values.Length); i++)
        {
            chars[(int)((uint)positions[i] % (uint)chars.Length)] = values[i];
        }

        var text = new string(chars);
        ParseOrRefuse(text[..Math.Min(text.Length, text.Length - (cut.Get % 3 == 0 ? cut.Get % text.Length : 0))]);
    }

    [Property(MaxTest = 300)]
    public bool Equality_matchers_read_back_any_value(NonEmptyString name, string? value)
    {
        var label = "l" + new string(name.Get.Where(char.IsAsciiLetterOrDigit).ToArray());
        value ??= "";
        var escaped = value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
        var selector = QueryEngine.ParseSelector($"process_cpu:samples:count:cpu:nanoseconds:delta{{{label}=\"{escaped}\"}}");
        var matcher = Assert.Single(selector.Matchers);
        return matcher.Name == label && matcher.Op == MatchOp.Equal && matcher.Value == value;
    }

    private static void ParseOrRefuse(string text)
    {
        try
        {
            _ = QueryEngine.ParseSelector(text);
        }
        catch (QueryException e)
        {
            Assert.Equal(QueryErrorKind.InvalidArgument, e.Kind);
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }
    }
}
