using System.Text.RegularExpressions;

namespace Parca.Query.Selectors;

/// <summary>Matcher operators of the selector language.</summary>
public enum MatchOp
{
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// <summary>
/// A label matcher. Parca semantics: <c>=""</c> means the label is absent, <c>!=""</c> that it is present. Regexes
/// are anchored at both ends as Prometheus does (<c>=~"parc"</c> does not match <c>parca</c>; write <c>=~"parc.*"</c>)
/// and run on .NET's non-backtracking engine, so a match costs time linear in the value whatever the pattern: a
/// crafted pattern such as <c>(a|aa)+$</c> cannot burn CPU (Parca hands patterns to Go's RE2-style regexp, which is
/// linear too). Constructs that need backtracking (backreferences, lookarounds, atomic groups) are refused.
/// </summary>
public sealed class Matcher
{
    private readonly Regex? _regex;

    public Matcher(string name, MatchOp op, string value)
    {
        Name = name;
        Op = op;
        Value = value;
        if (op is MatchOp.Regex or MatchOp.NotRegex)
        {
            _regex = new Regex("^(?s:" + value + @")\z", Options);
        }
    }

    /// <summary>The regex options of every matcher (linear time, no culture).</summary>
    internal const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    public string Name { get; }
    public MatchOp Op { get; }
    public string Value { get; }

    /// <summary>Whether a label value matches; <paramref name="value"/> is null when the label is absent.</summary>
    public bool Matches(string? value)
    {
        var v = value ?? "";
        return Op switch
        {
            MatchOp.Equal => v == Value,
            MatchOp.NotEqual => v != Value,
            MatchOp.Regex => _regex!.IsMatch(v),
            MatchOp.NotRegex => !_regex!.IsMatch(v),
            _ => false,
        };
    }

    public override string ToString() => Name + Op switch
    {
        MatchOp.Equal => "=",
        MatchOp.NotEqual => "!=",
        MatchOp.Regex => "=~",
        _ => "!~",
    } + "\"" + Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
