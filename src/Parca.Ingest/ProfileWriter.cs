using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Parca.Hosting;
using Parca.Pprof;
using Parca.Storage;
using Parca.Storage.Ingest;
using Label = Parca.Storage.Label;

namespace Parca.Ingest;

/// <summary>One series of a write: Parca's <c>RawProfileSeries</c> in neutral form.</summary>
internal sealed record WriteSeries(IReadOnlyList<KeyValuePair<string, string>> Labels, IReadOnlyList<WriteSample> Samples);

/// <summary>
/// One raw pprof (gzip or not) with the optional executable info of its mappings, and optionally its decoded form
/// when the caller decoded it already (the scraper, with at least the server's read limits; borrowed until the write
/// returns), so it is not decoded twice.
/// </summary>
internal sealed record WriteSample(ReadOnlyMemory<byte> RawProfile, IReadOnlyList<ExecutableInfo>? ExecutableInfos, FlatProfile? Decoded = null);

/// <summary>
/// Parca's WriteRaw rules, shared by the gRPC service and the plain HTTP endpoints. A write is all-or-nothing: every
/// series is validated and decoded first and only then stored, so a client that retries a rejected request never
/// duplicates the series that were fine (agents retry whole requests).
/// </summary>
internal sealed partial class ProfileWriter(ProfileStore store, IngestLimits? ingestLimits = null)
{
    private readonly IngestLimits _limits = ingestLimits ?? IngestLimits.Default;

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();

    [GeneratedRegex("^[a-zA-Z0-9_.]*$")]
    private static partial Regex TypePart();

    /// <summary>Validates and stores; returns the number of samples stored. Throws <see cref="IngestError"/>.</summary>
    public long Write(IReadOnlyList<WriteSeries> series)
    {
        var prepared = new List<(string Name, LabelSet Labels, IngestProfile Profile, ReadOnlyMemory<byte> Source)>();
        var decoders = new List<FlatProfile>();
        var retentionCutoff = store.RetentionCutoffNanos;
        var futureCutoff = store.FutureCutoffNanos;
        LabelLimits.CheckSeriesCount(_limits.Limits, series.Count);

        // What the request may still inflate: the budget is for the request as a whole, so many small bombs in one
        // request cost no more than one large one.
        var remaining = _limits.RequestDecompressedBytes;
        try
        {
            for (var s = 0; s < series.Count; s++)
            {
                var (name, labels) = ValidateLabels(series[s].Labels, $"series[{s}]");
                var samples = series[s].Samples;
                for (var k = 0; k < samples.Count; k++)
                {
                    var flat = samples[k].Decoded ?? DecodeSample(samples[k].RawProfile.Span, remaining, decoders, s, k);

                    remaining -= flat.Data.Length;
                    var exec = samples[k].ExecutableInfos;
                    if (exec is { Count: > 0 } && exec.Count != flat.Mappings.Length)
                    {
                        throw new IngestError($"series[{s}].samples[{k}].executable_info: {exec.Count} entries for {flat.Mappings.Length} mappings (need one per mapping)");
                    }

                    ValidateTypes(flat, name, s, k);
                    if (flat.TimeNanos < retentionCutoff)
                    {
                        // Stored, it would vanish with the next block; refusing says so while the sender can still act.
                        throw new IngestError($"series[{s}].samples[{k}].raw_profile: time_nanos {DateTimeOffset.FromUnixTimeMilliseconds(flat.TimeNanos / 1_000_000):yyyy-MM-ddTHH:mm:ssZ} is older than the storage retention ({GoDuration.Format(store.Retention)}); start parca with --storage-retention=0 to keep old profiles");
                    }

                    if (flat.TimeNanos > futureCutoff)
                    {
                        // Clock skew: stored, it would sit in a block far ahead of every other and outlive retention.
                        throw new IngestError($"series[{s}].samples[{k}].raw_profile: time_nanos {FormatTime(flat.TimeNanos)} is more than {GoDuration.Format(store.MaxFutureSkew)} ahead of the server's clock ({DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}); check the sender's clock, or raise --storage-max-future-skew");
                    }

                    prepared.Add((name, labels, PprofIngest.ToIngest(flat, exec), samples[k].RawProfile));
                }
            }

            long stored = 0;
            try
            {
                foreach (var (name, labels, profile, source) in prepared)
                {
                    // With the write-ahead log on, the store logs the pprof as received (storage decodes it again at replay).
                    stored += store.Append(name, labels, profile, source.Span);
                }
            }
            catch (StorageWriteException e)
            {
                // Nothing of the failed profile was kept (the store cuts a failed log write back); the message names no path.
                throw new IngestError(e.Message, e.DiskFull ? IngestErrorKind.DiskFull : IngestErrorKind.Unavailable);
            }
            catch (StorageBusyException e)
            {
                throw new IngestError(e.Message, e.Unavailable ? IngestErrorKind.Unavailable : IngestErrorKind.Busy);
            }

            return stored;
        }
        finally
        {
            foreach (var flat in decoders)
            {
                ReturnDecoder(flat);
            }
        }
    }

    /// <summary>Decodes one profile of the request into a pooled decoder (the ingest profile borrows its buffers until stored).</summary>
    private FlatProfile DecodeSample(ReadOnlySpan<byte> raw, long remaining, List<FlatProfile> decoders, int s, int k)
    {
        var flat = RentDecoder();
        decoders.Add(flat);
        var options = remaining == _limits.RequestDecompressedBytes
            ? _limits.ReadOptions
            : _limits.ReadOptions with { Limits = _limits.ReadOptions.Limits with { MaxDecompressedBytes = remaining } };
        try
        {
            PprofDecoder.Decode(raw, flat, options);
        }
        catch (PprofException e)
        {
            throw new IngestError($"series[{s}].samples[{k}].raw_profile: {IngestLimits.Describe(e)}", e.IsLimit);
        }

        return flat;
    }

    internal static string FormatTime(long nanos) =>
        nanos / 1_000_000 is var ms && ms is >= -62_135_596_800_000 and <= 253_402_300_799_999
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture)
            : nanos.ToString(System.Globalization.CultureInfo.InvariantCulture) + " ns";

    // Decoders keep their grown tables and pooled buffer between requests, so steady-state decoding does not allocate.
    // At most 64 are kept, and none that just held a profile over 1 MiB (such buffers are not pooled at all).
    private const int MaxPooledDecoders = 64;
    private const int MaxPooledDecoderBytes = 1 << 20;
    private static readonly ConcurrentBag<FlatProfile> s_decoders = [];
    private static int s_pooledDecoders;

    private static FlatProfile RentDecoder()
    {
        if (s_decoders.TryTake(out var flat))
        {
            Interlocked.Decrement(ref s_pooledDecoders);
            return flat;
        }

        return new FlatProfile();
    }

    private static void ReturnDecoder(FlatProfile flat)
    {
        flat.ReleaseBudget();
        if (flat.Data.Length > MaxPooledDecoderBytes)
        {
            flat.Dispose();
            return;
        }

        if (Interlocked.Increment(ref s_pooledDecoders) <= MaxPooledDecoders)
        {
            s_decoders.Add(flat);
        }
        else
        {
            Interlocked.Decrement(ref s_pooledDecoders);
            flat.Dispose();
        }
    }

    /// <summary>True for a non-empty string of letters, digits, '_' and '.' only (TypePart), read as UTF-8.</summary>
    private static bool IsKnownType(FlatProfile f, int index)
    {
        var s = f.GetStringUtf8(index);
        foreach (var b in s)
        {
            if (!(b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'.'))
            {
                return false;
            }
        }

        return s.Length > 0;
    }

    private (string Name, LabelSet Labels) ValidateLabels(IReadOnlyList<KeyValuePair<string, string>> labels, string where)
    {
        var limits = _limits.Limits;
        LabelLimits.CheckCount(limits, labels.Count, where + ".labels");

        string? name = null;
        var set = new List<Label>(labels.Count);
        // Name → index in set: duplicates are found in linear time (a list scan per label was quadratic).
        var seen = new Dictionary<string, int>(labels.Count, StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            var (key, value) = labels[i];
            LabelLimits.CheckLengths(limits, key, value, $"{where}.labels[{i}]");

            if (key == "__name__")
            {
                if (name is not null && name != value)
                {
                    throw new IngestError($"{where}.labels[{i}]: duplicate label name '__name__'");
                }

                if (!TypePart().IsMatch(value) || value.Length == 0)
                {
                    throw new IngestError($"{where}.labels[{i}]: invalid profile name '{value}' (letters, digits, '_' and '.' only)");
                }

                name = value;
                continue;
            }

            if (!LabelName().IsMatch(key))
            {
                throw new IngestError($"{where}.labels[{i}]: invalid label name '{key}' (must match [a-zA-Z_][a-zA-Z0-9_]*)");
            }

            if (seen.TryGetValue(key, out var existing))
            {
                if (set[existing].Value != value)
                {
                    throw new IngestError($"{where}.labels[{i}]: duplicate label name '{key}' with different values");
                }

                continue; // identical duplicates are deduplicated
            }

            seen.Add(key, set.Count);
            set.Add(new Label(key, value));
        }

        if (name is null)
        {
            throw new IngestError($"{where}: missing __name__ label");
        }

        return (name, LabelSet.From(set));
    }

    private static void ValidateTypes(FlatProfile f, string name, int series, int sample)
    {
        if (f.SampleTypeCount == 1 && IsKnownType(f, f.SampleTypes[0].Type) && IsKnownType(f, f.SampleTypes[0].Unit) &&
            IsKnownType(f, f.PeriodType.Type) && IsKnownType(f, f.PeriodType.Unit))
        {
            return; // the common agent profile: checked without creating strings
        }

        var where = $"series[{series}].samples[{sample}]";
        for (var t = 0; t < f.SampleTypeCount; t++)
        {
            var type = f.GetString(f.SampleTypes[t].Type);
            var unit = f.GetString(f.SampleTypes[t].Unit);
            if (!TypePart().IsMatch(type) || !TypePart().IsMatch(unit) || type.Length == 0)
            {
                throw new IngestError($"{where}.raw_profile.sample_type[{t}]: '{name}:{type}:{unit}' is not a valid profile type (letters, digits, '_' and '.' only)");
            }
        }

        var pt = f.GetString(f.PeriodType.Type);
        var pu = f.GetString(f.PeriodType.Unit);
        if (!TypePart().IsMatch(pt) || !TypePart().IsMatch(pu))
        {
            throw new IngestError($"{where}.raw_profile.period_type: '{pt}:{pu}' is not valid in a profile type (letters, digits, '_' and '.' only)");
        }
    }
}
