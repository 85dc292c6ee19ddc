using System.IO.Compression;
using Parca.Storage.Ingest;

namespace Parca.LoadGen;

/// <summary>
/// Profiles made from the real pprof files in ../shared/testdata (Go, C++ and Java programs: CPU, heap, contention,
/// goroutines, ...): real stacks, function names, mappings and value distributions, instead of <see cref="Workload"/>'s
/// synthetic fleet. Each file is one "application"; its first value column is kept as a CPU sample count so that every
/// series answers one profile type. Each 10 s window drifts as a live process does: it holds a random subset of the
/// file's stacks (about <c>perWindow</c> of them, at most 80 %: a 10 s window of a 19 Hz agent sees a few dozen distinct
/// stacks of a process) with values scaled by 0.5–1.5, so consecutive profiles are never byte-identical.
/// </summary>
internal sealed class RealisticFleet
{
    private readonly List<(string Name, IngestProfile Profile, double Keep)> _apps = [];

    public RealisticFleet(string testdata, int perWindow)
    {
        foreach (var file in Directory.EnumerateFiles(testdata, "*.pb.gz", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            IngestProfile p;
            try
            {
                p = PprofIngest.DecodeLogged(Gunzip(File.ReadAllBytes(file)), null);
            }
            catch (InvalidDataException)
            {
                continue; // not a profile this server takes (the corrupt-input fixtures)
            }

            if (p.SampleCount > 0 && p.Values.Length > 0 && Positive(p) > 0)
            {
                _apps.Add((Path.GetFileNameWithoutExtension(Path.GetFileNameWithoutExtension(file)), Normalize(p), Math.Min(0.8, perWindow / (double)Positive(p))));
            }
        }
    }

    public int Count => _apps.Count;

    public string Name(int app) => _apps[app].Name;

    /// <summary>Samples of one window of <paramref name="app"/> on average.</summary>
    public double MeanSamples(int app) => _apps[app].Keep * Positive(_apps[app].Profile);

    private static int Positive(IngestProfile p)
    {
        var positive = 0;
        foreach (var v in p.Values[0].AsSpan(0, p.SampleCount))
        {
            positive += v > 0 ? 1 : 0;
        }

        return positive;
    }

    /// <summary>One 10 s window of <paramref name="app"/> at <paramref name="timeNanos"/>.</summary>
    public IngestProfile Window(int app, Random rng, long timeNanos)
    {
        var (_, src, keep) = _apps[app];
        var offsets = new List<int>(src.SampleCount + 1) { 0 };
        var locations = new List<int>(src.StackLocations.Length);
        var values = new List<long>(src.SampleCount);
        for (var s = 0; s < src.SampleCount; s++)
        {
            var v = src.Values[0][s];
            if (v <= 0 || (rng.NextDouble() > keep && !(s == src.SampleCount - 1 && values.Count == 0)))
            {
                continue;
            }

            locations.AddRange(src.StackLocations.AsSpan(src.StackOffsets[s], src.StackOffsets[s + 1] - src.StackOffsets[s]));
            offsets.Add(locations.Count);
            values.Add(Math.Max(1, (long)(v * (0.5 + rng.NextDouble()))));
        }

        return new IngestProfile
        {
            Strings = src.Strings,
            Mappings = src.Mappings,
            Functions = src.Functions,
            Locations = src.Locations,
            Lines = src.Lines,
            SampleTypes = src.SampleTypes,
            PeriodType = src.PeriodType,
            Period = src.Period,
            TimeNanos = timeNanos,
            DurationNanos = 10_000_000_000,
            SampleCount = values.Count,
            StackOffsets = [.. offsets],
            StackLocations = [.. locations],
            Values = [[.. values]],
        };
    }

    /// <summary>The file's tables with .NET strings, one value column, typed samples/count per cpu/nanoseconds at 100 Hz.</summary>
    private static IngestProfile Normalize(IngestProfile p)
    {
        var strings = new string[p.StringCount + 4];
        for (var i = 0; i < p.StringCount; i++)
        {
            strings[i] = p.GetString(i);
        }

        // Bytes and nanoseconds become sample counts: scaled so the file's largest value is 1,000 (the relative
        // weights of its stacks stay); as CPU time (count × period) 24 h of 100 series then fits a 64-bit total.
        var values = p.Values[0].AsSpan(0, p.SampleCount).ToArray();
        var max = values.Length > 0 ? values.Max() : 1;
        if (max > 1000)
        {
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = values[i] <= 0 ? values[i] : Math.Max(1, (long)(values[i] * (1000.0 / max)));
            }
        }

        var n = p.StringCount;
        (strings[n], strings[n + 1], strings[n + 2], strings[n + 3]) = ("samples", "count", "cpu", "nanoseconds");
        return new IngestProfile
        {
            Strings = strings,
            Mappings = [.. p.Mappings],
            Functions = [.. p.Functions],
            Locations = [.. p.Locations],
            Lines = [.. p.Lines],
            SampleTypes = [new IngestValueType(n, n + 1)],
            PeriodType = new IngestValueType(n + 2, n + 3),
            Period = 10_000_000,
            SampleCount = p.SampleCount,
            StackOffsets = [.. p.StackOffsets],
            StackLocations = [.. p.StackLocations],
            Values = [values],
        };
    }

    private static byte[] Gunzip(byte[] data)
    {
        if (data.Length < 2 || data[0] != 0x1f || data[1] != 0x8b)
        {
            return data;
        }

        using var gz = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var result = new MemoryStream();
        gz.CopyTo(result);
        return result.ToArray();
    }
}
