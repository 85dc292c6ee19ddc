using System.Globalization;

namespace Parca.TestSupport;

/// <summary>One sample as <c>go tool pprof -traces</c> prints it: its value in base units (ns, bytes, count), leaf first.</summary>
public readonly record struct PprofTrace(long Value, string[] Frames)
{
    /// <summary>The value of a time-valued sample type (cpu, delay) in seconds.</summary>
    public double Seconds => Value / 1e9;
}

public static partial class GoPprof
{
    /// <summary>The samples of a profile file as <c>go tool pprof -traces</c> shows them (default sample type).</summary>
    public static List<PprofTrace> Traces(string file, string? sampleIndex = null) =>
        ParseTraces(Run(sampleIndex is null ? ["-traces", file] : ["-traces", "-sample_index=" + sampleIndex, file]));

    /// <summary><see cref="Traces(string, string?)"/> of a profile held in memory.</summary>
    public static List<PprofTrace> Traces(byte[] profile, string? sampleIndex = null) => WithFile(profile, file => Traces(file, sampleIndex));

    /// <summary>
    /// Per function, the summed value of every sample whose stack contains it (pprof's "cum") and of every sample
    /// it is the leaf of (pprof's "flat"), for the given sample type.
    /// </summary>
    public static (Dictionary<string, long> Cumulative, Dictionary<string, long> Flat) ByFunction(byte[] profile, string? sampleIndex = null)
    {
        var cumulative = new Dictionary<string, long>(StringComparer.Ordinal);
        var flat = new Dictionary<string, long>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var trace in Traces(profile, sampleIndex))
        {
            if (trace.Frames.Length > 0)
            {
                flat[trace.Frames[0]] = flat.GetValueOrDefault(trace.Frames[0]) + trace.Value;
            }

            seen.Clear();
            foreach (var function in trace.Frames)
            {
                if (seen.Add(function))
                {
                    cumulative[function] = cumulative.GetValueOrDefault(function) + trace.Value;
                }
            }
        }

        return (cumulative, flat);
    }

    public static Dictionary<string, long> CumulativeByFunction(byte[] profile, string? sampleIndex = null) => ByFunction(profile, sampleIndex).Cumulative;

    /// <summary>The leaf function with the largest summed value (pprof's top "flat" entry).</summary>
    public static string TopFlat(byte[] profile, string? sampleIndex = null) => ByFunction(profile, sampleIndex).Flat.MaxBy(kv => kv.Value).Key;

    /// <summary>
    /// Parses <c>-traces</c> output: blocks between <c>-----------+---</c> lines, each with optional label lines
    /// (<c>key:  value</c>), then <c>value   leaf</c>, then one caller per line. " (inline)" marks are dropped.
    /// </summary>
    internal static List<PprofTrace> ParseTraces(string text)
    {
        var result = new List<PprofTrace>();
        var inBlock = false;
        long value = 0;
        List<string>? frames = null;
        foreach (var rawLine in text.Split('\n'))
        {
            if (rawLine.StartsWith("-----------+", StringComparison.Ordinal))
            {
                Flush();
                inBlock = true;
                continue;
            }

            var line = rawLine.Trim();
            if (!inBlock || line.Length == 0)
            {
                continue; // the header (File:, Type:, ...) before the first block
            }

            if (frames is null)
            {
                if (line.Contains(":  ", StringComparison.Ordinal))
                {
                    continue; // a sample label ("bytes:  1MB", "thread:  [main]")
                }

                var parts = line.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                value = ParseValue(parts[0]);
                frames = [];
                line = parts.Length > 1 ? parts[1] : "";
            }

            line = line.Replace(" (inline)", "", StringComparison.Ordinal);
            if (line.Length > 0)
            {
                frames.Add(line);
            }
        }

        Flush();
        return result;

        void Flush()
        {
            if (frames is not null)
            {
                result.Add(new PprofTrace(value, [.. frames]));
            }

            frames = null;
        }
    }

    /// <summary>Values as pprof prints them ("50", "1.68s", "10ms", "476.59MB") in base units.</summary>
    private static long ParseValue(string text)
    {
        var i = 0;
        while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }

        var number = double.Parse(text[..i], CultureInfo.InvariantCulture);
        var factor = text[i..] switch
        {
            "" or "ns" or "B" => 1d,
            "us" or "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "mins" => 60e9,
            "hrs" => 3600e9,
            "kB" => 1024d,
            "MB" => 1024d * 1024,
            "GB" => 1024d * 1024 * 1024,
            _ => throw new FormatException($"unknown unit in pprof value '{text}'"),
        };
        return (long)Math.Round(number * factor);
    }
}
