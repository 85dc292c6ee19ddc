using Apache.Arrow;
using static Parca.Ingest.Arrow.ArrowColumns;

namespace Parca.Ingest.Arrow;

/// <summary>
/// Parca's v1 sample record (schema metadata <c>parca_write_schema_version=v1</c>, parca-agent v0.32 to v0.47):
/// one row per sample, <c>labels.&lt;name&gt;</c> columns, and a run-end encoded dictionary <c>stacktrace_id</c>;
/// the stacks themselves arrive in a second record (<see cref="AddLocations"/>) with one row per stack id.
/// </summary>
internal sealed class V1SampleRecord
{
    private readonly ProfileGroups _groups;
    private readonly SymbolTable _symbols;
    private readonly SampleRows _rows;
    private readonly RunIds _stackIds;
    private readonly byte[][] _ids;

    public V1SampleRecord(RecordBatch batch, ProfileGroups groups, SymbolTable symbols)
    {
        _groups = groups;
        _symbols = symbols;
        var n = batch.Length;
        var labels = new List<(string, RunIds)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in batch.Schema.FieldsList)
        {
            if (!field.Name.StartsWith("labels.", StringComparison.Ordinal))
            {
                continue;
            }

            var name = field.Name["labels.".Length..];
            TypeNames.CheckLabelName(name, field.Name);
            if (!seen.Add(name))
            {
                throw Error(field.Name, "the label appears twice");
            }

            labels.Add((name, SampleRows.Strings(batch.Column(batch.Schema.GetFieldIndex(field.Name)), field.Name, n, symbols, typePart: false)));
        }

        _rows = new SampleRows(groups, symbols, n,
            SampleRows.Int64s(V2SampleRecord.Required(batch, "value"), "value", n),
            [
                SampleRows.Strings(V2SampleRecord.Required(batch, "producer"), "producer", n, symbols, typePart: true),
                SampleRows.Strings(V2SampleRecord.Required(batch, "sample_type"), "sample_type", n, symbols, typePart: true),
                SampleRows.Strings(V2SampleRecord.Required(batch, "sample_unit"), "sample_unit", n, symbols, typePart: true),
                SampleRows.Strings(V2SampleRecord.Required(batch, "period_type"), "period_type", n, symbols, typePart: true),
                SampleRows.Strings(V2SampleRecord.Required(batch, "period_unit"), "period_unit", n, symbols, typePart: true),
                SampleRows.Numbers(V2SampleRecord.Required(batch, "period"), "period", n),
                SampleRows.Numbers(V2SampleRecord.Required(batch, "duration"), "duration", n),
            ],
            SampleRows.Numbers(V2SampleRecord.Required(batch, "timestamp"), "timestamp", n),
            [.. labels]);

        // stacktrace_id: run-end encoded dictionary of binary ids; a run's value is its dictionary index.
        const string column = "stacktrace_id";
        var ree = As<RunEndEncodedArray>(V2SampleRecord.Required(batch, column), column, "RunEndEncoded<Int32, Dictionary<UInt32, Binary>>");
        var ends = RunEnds(ree, column, n);
        var dict = As<DictionaryArray>(ree.Values, column, "RunEndEncoded<Int32, Dictionary<UInt32, Binary>>");
        var binary = As<BinaryArray>(dict.Dictionary, column, "RunEndEncoded<Int32, Dictionary<UInt32, Binary>>");
        var indices = DictionaryIndices(dict, column);
        var runs = new long[ends.Length];
        for (var i = 0; i < runs.Length; i++)
        {
            runs[i] = indices[i] >= 0 ? indices[i] : throw Error(column, $"row {(i == 0 ? 0 : ends[i - 1])} has no stack id");
        }

        _stackIds = new RunIds(column, ends, runs);
        _ids = new byte[binary.Length][];
        for (var i = 0; i < _ids.Length; i++)
        {
            _ids[i] = binary.GetBytes(i).ToArray();
        }
    }

    /// <summary>The stack ids the sample record refers to, which the server asks the agent to describe.</summary>
    public IReadOnlyList<byte[]> StackIds => _ids;

    /// <summary>Reads the locations record (stacktrace_id, is_complete, locations) and adds every sample.</summary>
    public void AddLocations(RecordBatch batch)
    {
        var n = batch.Length;
        var ids = As<BinaryArray>(V2SampleRecord.Required(batch, "stacktrace_id"), "stacktrace_id", "Binary");
        RequireLength(ids, n, "stacktrace_id");
        var locations = new V1Locations(_symbols, V2SampleRecord.Required(batch, "locations"));
        if (locations.Rows < n)
        {
            throw Error("locations", $"{locations.Rows} rows for {n} stack ids");
        }

        var rowOf = new Dictionary<string, int>(n, StringComparer.Ordinal);
        for (var r = 0; r < n; r++)
        {
            rowOf[Convert.ToHexString(ids.GetBytes(r))] = r;
        }

        var stacks = new int[_ids.Length][];
        for (var i = 0; i < _ids.Length; i++)
        {
            var hex = Convert.ToHexString(_ids[i]);
            if (!rowOf.TryGetValue(hex, out var row))
            {
                throw Error("stacktrace_id", $"the locations record does not describe stack id {hex} of the sample record");
            }

            stacks[i] = locations.Stack(row);
        }

        for (var row = 0; row < _rows.Length; row++)
        {
            var group = _rows.GroupAt(row, out var time);
            var stack = stacks[_stackIds.At(row)];
            stack.CopyTo(group.Stack.Append(stack.Length));
            group.EndSample(_rows.Values[row], time);
        }

        _groups.Sampled(_rows.Length);
    }
}
