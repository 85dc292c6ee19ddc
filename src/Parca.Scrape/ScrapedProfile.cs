using System.Globalization;
using Parca.Pprof;
using Parca.Scrape.Config;

namespace Parca.Scrape;

/// <summary>
/// What the scraper does with a scraped body before writing it, on top of Parca.Pprof: validation (the decoder's
/// limits and precise errors), the <c>executableInfo=</c> comments and <c>keep_sample_type</c>.
/// </summary>
internal static class ScrapedProfile
{
    private const string ExecutableInfoPrefix = "executableInfo=";

    /// <summary>Decodes and validates <paramref name="body"/> into <paramref name="flat"/>; refuses a profile without sample types.</summary>
    public static void Decode(ReadOnlySpan<byte> body, FlatProfile flat, PprofReadOptions options)
    {
        PprofDecoder.Decode(body, flat, options);
        if (flat.SampleTypeCount == 0)
        {
            throw new InvalidDataException("invalid pprof: no sample_type");
        }
    }

    /// <summary>
    /// Reads the <c>executableInfo=&lt;elf type&gt;;&lt;offset&gt;;&lt;vaddr&gt;</c> comments (hex, optional 0x) that
    /// Go binaries built with Parca's helpers add; each becomes an <see cref="ExecutableInfo"/>.
    /// </summary>
    public static List<ExecutableInfo> ExecutableInfos(FlatProfile flat)
    {
        var result = new List<ExecutableInfo>();
        foreach (int index in flat.Comments)
        {
            if (!flat.GetStringUtf8(index).StartsWith("executableInfo="u8))
            {
                continue;
            }

            var comment = flat.GetString(index);
            var parts = comment[ExecutableInfoPrefix.Length..].Split(';');
            if (parts.Length == 3 && TryHex(parts[0], out var elfType) && TryHex(parts[1], out var offset) && TryHex(parts[2], out var vaddr) && elfType <= uint.MaxValue)
            {
                result.Add(new ExecutableInfo((uint)elfType, offset, vaddr));
            }
            else
            {
                throw new InvalidDataException($"invalid pprof: malformed comment \"{comment}\" (expected executableInfo=<elf type>;<offset>;<vaddr> in hex)");
            }
        }

        return result;
    }

    /// <summary>
    /// Applies <c>keep_sample_type</c>: returns the profile re-encoded with only the listed sample types (and the
    /// matching value of every sample), or null when every sample type is kept. Throws
    /// <see cref="InvalidDataException"/> when none of the configured types is in the profile.
    /// </summary>
    public static byte[]? KeepSampleTypes(FlatProfile flat, IReadOnlyList<SampleTypeConfig> keep)
    {
        if (keep.Count == 0)
        {
            return null;
        }

        var types = flat.SampleTypes;
        var kept = new bool[types.Length];
        var keptCount = 0;
        for (var i = 0; i < kept.Length; i++)
        {
            var type = flat.GetString(types[i].Type);
            var unit = flat.GetString(types[i].Unit);
            foreach (var k in keep)
            {
                if (k.Type == type && (k.Unit.Length == 0 || k.Unit == unit))
                {
                    kept[i] = true;
                    keptCount++;
                    break;
                }
            }
        }

        if (keptCount == kept.Length)
        {
            return null;
        }

        var profile = flat.ToProfile();
        if (keptCount == 0)
        {
            var present = string.Join(", ", profile.SampleTypes.Select(t => $"{t.Type}:{t.Unit}"));
            throw new InvalidDataException($"keep_sample_type matches none of the profile's sample types ({present})");
        }

        var keptTypes = new List<PprofValueType>(keptCount);
        for (var i = 0; i < kept.Length; i++)
        {
            if (kept[i])
            {
                keptTypes.Add(profile.SampleTypes[i]);
            }
        }

        profile.SampleTypes.Clear();
        profile.SampleTypes.AddRange(keptTypes);
        foreach (var sample in profile.Samples)
        {
            var values = new long[keptCount];
            for (int i = 0, j = 0; i < kept.Length; i++)
            {
                if (kept[i])
                {
                    values[j++] = sample.Values[i];
                }
            }

            sample.Values = values;
        }

        if (!keptTypes.Exists(t => t.Type == profile.DefaultSampleType))
        {
            profile.DefaultSampleType = ""; // it named a dropped type; readers then take the first kept one
        }

        return PprofEncoder.Encode(profile, compress: false);
    }

    private static bool TryHex(string text, out ulong value)
    {
        var span = text.AsSpan().Trim();
        if (span.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            span = span[2..];
        }

        return ulong.TryParse(span, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
