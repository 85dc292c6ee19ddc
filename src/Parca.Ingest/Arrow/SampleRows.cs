using Apache.Arrow;
using Apache.Arrow.Types;
using Parca.Storage;
using Parca.Storage.Ingest;
using static Parca.Ingest.Arrow.ArrowColumns;

namespace Parca.Ingest.Arrow;

/// <summary>
/// What a sample record says about each row besides its stack: the profile type columns, period, duration,
/// timestamp, value and labels. v1 and v2 encode them differently (dictionary or plain strings, Int64 or UInt64,
/// run-end encoded or Timestamp); both are read into <see cref="RunIds"/> here, and <see cref="GroupAt"/> finds the
/// profile a row belongs to.
/// </summary>
internal sealed class SampleRows
{
    private const int Fixed = 8; // bucket, producer, 4 type parts, period, duration
    private readonly ProfileGroups _groups;
    private readonly SymbolTable _symbols;
    private readonly RunIds[] _columns; // producer, sample_type, sample_unit, period_type, period_unit, period, duration
    private readonly RunIds _timestamp;
    private readonly (string Name, RunIds Ids)[] _labels;
    private readonly long[] _key;
    private readonly long[] _last;
    private ProfileGroups.Group? _group;
    private int _sameUntil; // rows before this one have the current group's type and label values (their runs go on)

    public SampleRows(ProfileGroups groups, SymbolTable symbols, int length, long[] values, RunIds[] typeColumns, RunIds timestamp, (string Name, RunIds Ids)[] labels)
    {
        _groups = groups;
        _symbols = symbols;
        Length = length;
        Values = values;
        _columns = typeColumns;
        _timestamp = timestamp;
        _labels = labels;
        _key = new long[Fixed + labels.Length];
        _last = new long[_key.Length];
    }

    public int Length { get; }

    /// <summary>The value column (nulls read as 0, which storage drops like a zero value).</summary>
    public long[] Values { get; }

    /// <summary>The profile row <paramref name="row"/> belongs to; rows must be asked for in order.</summary>
    public ProfileGroups.Group GroupAt(int row, out long timeNanos)
    {
        timeNanos = _timestamp.At(row);
        var bucket = Math.DivRem(timeNanos, _groups.BucketNanos, out var rem) - (rem < 0 ? 1 : 0);
        if (_group is not null && row < _sameUntil && bucket == _key[0])
        {
            return _group; // no run of a type or label column ended since the last lookup: only the bucket could change
        }

        _key[0] = bucket;
        var sameUntil = int.MaxValue;
        for (var c = 0; c < _columns.Length; c++)
        {
            _key[c + 1] = _columns[c].At(row);
            sameUntil = Math.Min(sameUntil, _columns[c].RunEnd);
        }

        for (var l = 0; l < _labels.Length; l++)
        {
            _key[Fixed + l] = _labels[l].Ids.At(row);
            sameUntil = Math.Min(sameUntil, _labels[l].Ids.RunEnd);
        }

        _sameUntil = sameUntil;

        if (_group is not null && _key.AsSpan().SequenceEqual(_last))
        {
            return _group;
        }

        _key.CopyTo(_last, 0);
        if (!_groups.TryFind(_key, out var group))
        {
            group = Create(row);
        }

        return _group = group;
    }

    private ProfileGroups.Group Create(int row)
    {
        if (_key[1] == 0)
        {
            throw new IngestError($"column 'producer': row {row} has no producer (the profile name)");
        }

        if (_key[2] == 0)
        {
            throw new IngestError($"column 'sample_type': row {row} has no sample type");
        }

        var labels = new List<Label>();
        foreach (var (name, ids) in _labels)
        {
            var value = ids.At(row);
            if (value != 0)
            {
                labels.Add(new Label(name, _symbols.StringAt((int)value)));
            }
        }

        var name0 = _symbols.StringAt((int)_key[1]);
        return _groups.Add(_key, name0,
            new IngestValueType((int)_key[2], (int)_key[3]),
            new IngestValueType((int)_key[4], (int)_key[5]),
            _key[6], _key[7], LabelSet.From(labels), $"{_groups.Source} row {row}");
    }

    /// <summary>
    /// A run-end encoded column of strings (v2: String values; v1: a dictionary of Binary) as string ids; null and
    /// "" are id 0. With <paramref name="typePart"/>, values must be valid in a profile type.
    /// </summary>
    public static RunIds Strings(IArrowArray array, string column, int length, SymbolTable symbols, bool typePart)
    {
        var ree = As<RunEndEncodedArray>(array, column, "RunEndEncoded<Int32, String>");
        var ends = RunEnds(ree, column, length);
        var values = ree.Values is DictionaryArray ? DictionaryStrings(ree.Values, column) : ArrowColumns.Strings(ree.Values, column);
        var ids = new long[ends.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            var s = values[i];
            if (s is null || s.Length == 0)
            {
                continue;
            }

            if (typePart && !TypeNames.IsTypePart(s, allowEmpty: false))
            {
                var row = i == 0 ? 0 : ends[i - 1];
                throw new IngestError($"column '{column}': '{s}' at row {row} is not valid in a profile type (letters, digits, '_' and '.' only)");
            }

            ids[i] = symbols.String(s);
        }

        return new RunIds(column, ends, ids);
    }

    /// <summary>A run-end encoded column of Int64 or UInt64 values (nulls read as 0).</summary>
    public static RunIds Numbers(IArrowArray array, string column, int length)
    {
        var ree = As<RunEndEncodedArray>(array, column, "RunEndEncoded<Int32, Int64>");
        var ends = RunEnds(ree, column, length);
        var ids = new long[ends.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = ree.Values switch
            {
                Int64Array s => s.IsNull(i) ? 0 : s.Values[i],
                UInt64Array u => u.IsNull(i) ? 0 : u.Values[i] <= long.MaxValue ? (long)u.Values[i]
                    : throw Error(column, $"value {u.Values[i]} at run {i} is too large"),
                _ => throw Error(column, $"expected Int64 or UInt64 run values, got {Describe(ree.Values.Data.DataType)}"),
            };
        }

        return new RunIds(column, ends, ids);
    }

    /// <summary>A plain Int64 column, nulls read as 0.</summary>
    public static long[] Int64s(IArrowArray array, string column, int length)
    {
        var a = As<Int64Array>(array, column, "Int64");
        RequireLength(a, length, column);
        var result = a.Values[..length].ToArray();
        if (a.NullCount > 0)
        {
            for (var i = 0; i < length; i++)
            {
                if (a.IsNull(i))
                {
                    result[i] = 0;
                }
            }
        }

        return result;
    }

    /// <summary>A Timestamp column (any unit) as nanoseconds since the epoch.</summary>
    public static RunIds Timestamps(IArrowArray array, string column, int length)
    {
        var a = As<TimestampArray>(array, column, "Timestamp");
        RequireLength(a, length, column);
        var scale = ((TimestampType)a.Data.DataType).Unit switch
        {
            TimeUnit.Second => 1_000_000_000L,
            TimeUnit.Millisecond => 1_000_000L,
            TimeUnit.Microsecond => 1_000L,
            _ => 1L,
        };
        var ns = new long[length];
        var values = a.Values;
        for (var i = 0; i < length; i++)
        {
            if (a.IsNull(i))
            {
                throw Error(column, $"row {i} has no timestamp");
            }

            ns[i] = values[i] * scale;
        }

        return RunIds.PerRow(column, ns);
    }
}
