using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Parca.Scrape.Config;

/// <summary>
/// Prometheus durations as written in configs: <c>1h30m</c>, <c>15s</c>, <c>500ms</c>, <c>2w</c>, <c>0</c>.
/// Units y, w, d, h, m, s, ms, in that order, each at most once (a year is 365 days).
/// </summary>
public static partial class PromDuration
{
    [GeneratedRegex(@"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    private static readonly long[] s_unitMs = [365L * 24 * 3600 * 1000, 7L * 24 * 3600 * 1000, 24L * 3600 * 1000, 3600L * 1000, 60L * 1000, 1000L, 1L];

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text == "0")
        {
            return true;
        }

        if (text.Length == 0)
        {
            return false;
        }

        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        long total = 0;
        for (var i = 0; i < s_unitMs.Length; i++)
        {
            var group = match.Groups[i + 1];
            if (!group.Success)
            {
                continue;
            }

            if (!long.TryParse(group.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > long.MaxValue / s_unitMs[i])
            {
                return false;
            }

            total = checked(total + (n * s_unitMs[i]));
        }

        value = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>Formats like Prometheus does (<c>1m30s</c>, <c>10s</c>, <c>0s</c>).</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (ms == 0)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        string[] names = ["y", "w", "d", "h", "m", "s", "ms"];
        for (var i = 0; i < s_unitMs.Length; i++)
        {
            var n = ms / s_unitMs[i];
            if (n > 0)
            {
                sb.Append(n.ToString(CultureInfo.InvariantCulture)).Append(names[i]);
                ms -= n * s_unitMs[i];
            }
        }

        return sb.ToString();
    }
}
