using OpenTelemetry.Proto.Profiles.V1Development;
using Parca.Storage;
using Parca.Storage.Ingest;

namespace Parca.Ingest.Otlp;

/// <summary>
/// Reads the samples of OTLP profiles into <see cref="ProfileGroups"/>. Per sample it does no allocation in the
/// common cases: a sample without attributes, or with the same attribute indices as the one before, reuses the label
/// set already found; a row of the same group as the row before reuses the group; stacks are copied as storage
/// location ids cached per dictionary entry.
/// </summary>
internal sealed class ProfileReader(ProfileGroups groups, SymbolTable symbols, OtlpDictionary d)
{
    private readonly Dictionary<LabelSet, int> _labelSetIds = [];
    private readonly List<LabelSet> _labelSets = [];
    private readonly long[] _key = new long[9]; // bucket, name, 4 type parts, period, duration, label set
    private readonly long[] _last = new long[9];
    private ProfileGroups.Group? _group;

    public void Read(Profile p, string name, Dictionary<string, string> profileLabels, string where)
    {
        if (p.SampleType is null)
        {
            throw new IngestError($"{where}.sample_type: missing (one sample type per profile)");
        }

        _key[1] = symbols.String(name);
        _key[2] = TypePart(p.SampleType.TypeStrindex, where + ".sample_type.type_strindex", allowEmpty: false);
        _key[3] = TypePart(p.SampleType.UnitStrindex, where + ".sample_type.unit_strindex", allowEmpty: true);
        _key[4] = p.PeriodType is null ? 0 : TypePart(p.PeriodType.TypeStrindex, where + ".period_type.type_strindex", allowEmpty: true);
        _key[5] = p.PeriodType is null ? 0 : TypePart(p.PeriodType.UnitStrindex, where + ".period_type.unit_strindex", allowEmpty: true);
        _key[6] = p.Period >= 0 ? p.Period : throw new IngestError($"{where}.period: {p.Period} is negative");
        _key[7] = p.DurationNano <= long.MaxValue ? (long)p.DurationNano : throw new IngestError($"{where}.duration_nano: {p.DurationNano} is too large");
        if (p.TimeUnixNano > long.MaxValue - p.DurationNano)
        {
            throw new IngestError($"{where}.time_unix_nano: {p.TimeUnixNano} is too large");
        }

        if (!p.ProfileId.IsEmpty && (p.ProfileId.Length != 16 || !p.ProfileId.Span.ContainsAnyExcept((byte)0)))
        {
            throw new IngestError($"{where}.profile_id: must be 16 bytes, not all zero (got {p.ProfileId.Length} bytes)");
        }

        var start = (long)p.TimeUnixNano;
        var end = start + _key[7];
        var profileSet = LabelSetId(OtlpLabels.ToSet(profileLabels));
        var lastSet = profileSet;
        Google.Protobuf.Collections.RepeatedField<int>? lastIndices = null;
        for (var i = 0; i < p.Samples.Count; i++)
        {
            var s = p.Samples[i];
            if ((uint)s.StackIndex >= (uint)d.StackCount && s.StackIndex != 0)
            {
                throw new IngestError($"{where}.samples[{i}].stack_index: {s.StackIndex} is out of range (stack_table has {d.StackCount} entries)");
            }

            if ((uint)s.LinkIndex >= (uint)d.LinkCount && s.LinkIndex != 0)
            {
                throw new IngestError($"{where}.samples[{i}].link_index: {s.LinkIndex} is out of range (link_table has {d.LinkCount} entries)");
            }

            var set = profileSet;
            if (s.AttributeIndices.Count > 0)
            {
                if (lastIndices is null || !lastIndices.Equals(s.AttributeIndices))
                {
                    OtlpDictionary.Indices(s.AttributeIndices, d.AttributeCount, $"{where}.samples[{i}].attribute_indices", "attribute_table");
                    var labels = new Dictionary<string, string>(profileLabels, StringComparer.Ordinal);
                    OtlpLabels.Add(labels, d, s.AttributeIndices, overwrite: false); // outer levels win
                    lastSet = LabelSetId(OtlpLabels.ToSet(labels));
                    lastIndices = s.AttributeIndices;
                }

                set = lastSet;
            }

            _key[8] = set;
            if (s.TimestampsUnixNano.Count > 0)
            {
                if (s.Values.Count > 0 && s.Values.Count != s.TimestampsUnixNano.Count)
                {
                    throw new IngestError($"{where}.samples[{i}]: {s.Values.Count} values for {s.TimestampsUnixNano.Count} timestamps (one value per timestamp, or none)");
                }

                for (var k = 0; k < s.TimestampsUnixNano.Count; k++)
                {
                    var ts = s.TimestampsUnixNano[k];
                    if (ts < (ulong)start || ts > (ulong)end)
                    {
                        throw new IngestError($"{where}.samples[{i}].timestamps_unix_nano[{k}]: {ts} is outside the profile's time range [{start}, {end}]");
                    }

                    Row((long)ts, s.Values.Count > 0 ? s.Values[k] : 1, s.StackIndex, where, i);
                }
            }
            else if (s.Values.Count == 1)
            {
                if (s.Values[0] != 0)
                {
                    Row(start, s.Values[0], s.StackIndex, where, i);
                }
            }
            else
            {
                throw new IngestError(s.Values.Count == 0
                    ? $"{where}.samples[{i}]: neither values nor timestamps"
                    : $"{where}.samples[{i}].values: {s.Values.Count} values without timestamps (a profile has one sample type, so one value)");
            }
        }

        groups.Sampled(p.Samples.Count);
    }

    private void Row(long time, long value, int stack, string where, int sample)
    {
        _key[0] = Math.DivRem(time, groups.BucketNanos, out _);
        if (_group is null || !_key.AsSpan().SequenceEqual(_last))
        {
            _key.CopyTo(_last, 0);
            if (!groups.TryFind(_key, out var g))
            {
                g = groups.Add(_key, symbols.StringAt((int)_key[1]),
                    new IngestValueType((int)_key[2], (int)_key[3]), new IngestValueType((int)_key[4], (int)_key[5]),
                    _key[6], _key[7], _labelSets[(int)_key[8]], $"{where}.samples[{sample}]");
            }

            _group = g;
        }

        d.AppendStack(stack, _group.Stack);
        _group.EndSample(value, time);
    }

    private int TypePart(int index, string where, bool allowEmpty)
    {
        if ((uint)index >= (uint)d.StringCount)
        {
            throw new IngestError($"{where}: {index} is out of range (string_table has {d.StringCount} entries)");
        }

        var s = d.String(index);
        if (!TypeNames.IsTypePart(s, allowEmpty))
        {
            throw new IngestError(s.Length == 0
                ? $"{where}: the empty string (a sample type is needed)"
                : $"{where}: '{OtlpDictionary.Clip(s)}' is not valid in a profile type (letters, digits, '_' and '.' only)");
        }

        return symbols.String(s);
    }

    private int LabelSetId(LabelSet set)
    {
        if (!_labelSetIds.TryGetValue(set, out var id))
        {
            id = _labelSets.Count;
            _labelSets.Add(set);
            _labelSetIds.Add(set, id);
        }

        return id;
    }
}
