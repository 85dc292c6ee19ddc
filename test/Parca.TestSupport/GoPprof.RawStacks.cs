using System.Text.RegularExpressions;

namespace Parca.TestSupport;

public static partial class GoPprof
{
    /// <summary>
    /// Root-first stacks (function names; inlined lines expanded, outer first) → value of sample type
    /// <paramref name="valueIndex"/>, summed, from <c>go tool pprof -raw</c>.
    /// </summary>
    public static Dictionary<string, long> RawStacks(string file, int valueIndex = 0)
    {
        var text = Raw(file);
        var lines = text.Split('\n');
        var samples = new List<(long[] Values, int[] Locs)>();
        var locations = new Dictionary<int, List<string>>();
        var section = "";
        var current = -1;
        foreach (var line in lines)
        {
            if (line.StartsWith("Samples:", StringComparison.Ordinal))
            {
                section = "samples-header";
                continue;
            }

            if (line.StartsWith("Locations", StringComparison.Ordinal))
            {
                section = "locations";
                continue;
            }

            if (line.StartsWith("Mappings", StringComparison.Ordinal))
            {
                section = "mappings";
                continue;
            }

            switch (section)
            {
                case "samples-header":
                    section = "samples";
                    break;
                case "samples" when line.Contains(':', StringComparison.Ordinal):
                    var parts = line.Split(':', 2);
                    var words = parts[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (words.Length == 0 || !words.All(w => long.TryParse(w, out _)))
                    {
                        break; // a label line under the sample
                    }

                    var values = words.Select(long.Parse).ToArray();
                    var locs = parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).TakeWhile(s => s.All(char.IsDigit)).Select(int.Parse).ToArray();
                    samples.Add((values, locs));
                    break;
                case "locations":
                    var m = LocationLine().Match(line);
                    if (m.Success)
                    {
                        current = int.Parse(m.Groups[1].Value);
                        locations[current] = [];
                        var rest = FrameText().Match(m.Groups[3].Value);
                        locations[current].Add(rest.Success ? rest.Groups[1].Value.Trim() : "0x" + m.Groups[2].Value);
                    }
                    else if (current >= 0 && ContinuationLine().Match(line) is { Success: true } c)
                    {
                        locations[current].Add(c.Groups[1].Value.Trim());
                    }

                    break;
                default:
                    break;
            }
        }

        var result = new Dictionary<string, long>();
        foreach (var (values, locs) in samples)
        {
            var frames = new List<string>();
            for (var i = locs.Length - 1; i >= 0; i--)
            {
                var fl = locations[locs[i]];
                for (var k = fl.Count - 1; k >= 0; k--)
                {
                    frames.Add(fl[k]);
                }
            }

            var key = string.Join(";", frames);
            result[key] = result.GetValueOrDefault(key) + values[valueIndex];
        }

        return result;
    }

    [GeneratedRegex(@"^\s*(\d+): 0x([0-9a-f]+)(?: M=\d+)?(.*)$")]
    private static partial Regex LocationLine();

    [GeneratedRegex(@"^ ?(.*?) ?\S*:-?\d+ s=\d+")]
    private static partial Regex FrameText();

    [GeneratedRegex(@"^\s+(\S.*?) \S*:-?\d+ s=\d+")]
    private static partial Regex ContinuationLine();
}
