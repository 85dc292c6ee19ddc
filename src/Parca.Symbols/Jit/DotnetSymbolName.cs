namespace Parca.Symbols.Jit;

/// <summary>
/// The names .NET writes into its perf map, "RETURN [Assembly] Namespace.Type`1[Arg]::Method(args)[Tier]", made
/// into frame names: the return type and assembly are dropped (the frame shows what was called, with its namespace,
/// type, generic arguments and parameters), and the optimization tier too unless asked to keep it, so a method's
/// tier-0, OSR and tier-1 code are one function in the profile.
/// </summary>
public static class DotnetSymbolName
{
    // The runtime's tier labels (PerfMap's optimization tier names); a stub's "[...]" is left alone.
    private static readonly string[] s_tiers =
    [
        "[PreJIT]", "[QuickJitted]", "[OptimizedTier1]", "[OptimizedTier1OSR]", "[Optimized]", "[MinOptJitted]",
        "[InstrumentedTier]", "[InstrumentedTierOptimized]", "[InstrumentedTier1]", "[Instrumented]", "[Interpreted]", "[Unknown]",
    ];

    public static string Normalize(string name) => Normalize(name, keepTier: false);

    public static string Normalize(string name, bool keepTier)
    {
        var span = name.AsSpan();
        var tier = ReadOnlySpan<char>.Empty;
        if (span.EndsWith("]"))
        {
            foreach (var t in s_tiers)
            {
                if (span.EndsWith(t, StringComparison.Ordinal))
                {
                    tier = span[^t.Length..];
                    span = span[..^t.Length];
                    break;
                }
            }
        }

        // The assembly is the first " [Name] " whose name holds no bracket: the return type before it may have
        // spaces and brackets of its own ("class [System.Runtime]System.String"), the assembly name may have spaces
        // ("[Anonymously Hosted DynamicMethods Assembly]"), the method after it may have brackets (generic arguments).
        var open = span.IndexOf(" [", StringComparison.Ordinal);
        while (open >= 0)
        {
            var close = span[(open + 2)..].IndexOfAny('[', ']');
            var end = open + 2 + close;
            if (close > 0 && span[end] == ']' && end + 1 < span.Length && span[end + 1] == ' ')
            {
                span = span[(end + 2)..];
                break;
            }

            var next = span[(open + 2)..].IndexOf(" [", StringComparison.Ordinal);
            open = next < 0 ? -1 : open + 2 + next;
        }

        if (span.Length == name.Length)
        {
            return name;
        }

        return keepTier && !tier.IsEmpty ? string.Concat(span, tier) : span.ToString();
    }
}
