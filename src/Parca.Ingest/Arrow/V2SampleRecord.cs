using Apache.Arrow;
using Apache.Arrow.Types;
using static Parca.Ingest.Arrow.ArrowColumns;

namespace Parca.Ingest.Arrow;

/// <summary>
/// Parca's v2 sample record (schema metadata <c>parca_write_schema_version=v2</c>, as parca-agent ≥ v0.48 writes
/// it): one row per sample with its stack inline — a list view over a dictionary of location structs, leaf first;
/// identical stacks share offsets, so list views may overlap. Columns other than the ones read here are ignored.
/// </summary>
internal static class V2SampleRecord
{
    public static void Add(RecordBatch batch, ProfileGroups groups, SymbolTable symbols)
    {
        var n = batch.Length;
        var rows = new SampleRows(groups, symbols, n,
            SampleRows.Int64s(Required(batch, "value"), "value", n),
            [
                SampleRows.Strings(Required(batch, "producer"), "producer", n, symbols, typePart: true),
                SampleRows.Strings(Required(batch, "sample_type"), "sample_type", n, symbols, typePart: true),
                SampleRows.Strings(Required(batch, "sample_unit"), "sample_unit", n, symbols, typePart: true),
                SampleRows.Strings(Required(batch, "period_type"), "period_type", n, symbols, typePart: true),
                SampleRows.Strings(Required(batch, "period_unit"), "period_unit", n, symbols, typePart: true),
                SampleRows.Numbers(Required(batch, "period"), "period", n),
                SampleRows.Numbers(Required(batch, "duration"), "duration", n),
            ],
            SampleRows.Timestamps(Required(batch, "timestamp"), "timestamp", n),
            Labels(batch, n, symbols));

        var stacks = As<ListViewArray>(Required(batch, "stacktrace"), "stacktrace", "ListView<Dictionary<UInt32, Struct>>");
        RequireLength(stacks, n, "stacktrace");
        var dict = As<DictionaryArray>(stacks.Values, "stacktrace", "ListView<Dictionary<UInt32, Struct>>");
        var entries = DictionaryIndexView(dict, "stacktrace");
        var locations = new V2Locations(symbols, As<StructArray>(dict.Dictionary, "stacktrace", "ListView<Dictionary<UInt32, Struct>>"));

        // The list view's buffers are read once here, not per row (a row is a handful of integer reads and a copy).
        var offsets = stacks.ValueOffsets;
        var sizes = stacks.Sizes;
        var valueCount = stacks.Values.Length;
        var nulls = stacks.NullCount > 0;
        if (offsets.Length < n || sizes.Length < n)
        {
            throw Error("stacktrace", $"{Math.Min(offsets.Length, sizes.Length)} offsets and sizes for {n} rows");
        }

        for (var row = 0; row < n; row++)
        {
            var group = rows.GroupAt(row, out var time);
            var offset = 0;
            var size = 0;
            if (!nulls || !stacks.IsNull(row))
            {
                offset = offsets[row];
                size = sizes[row];
                if (offset < 0 || size < 0 || (long)offset + size > valueCount)
                {
                    throw Error("stacktrace", $"list view at row {row} (offset {offset}, size {size}) lies outside its {valueCount} values");
                }
            }

            var target = group.Stack.Append(size);
            var source = entries.Slice(offset, size);
            for (var j = 0; j < source.Length; j++)
            {
                var e = source[j];
                if (e < 0)
                {
                    throw Error("stacktrace", $"row {row} has a null location at position {j}");
                }

                target[j] = locations.Get(e);
            }

            group.EndSample(rows.Values[row], time);
        }

        groups.Sampled(n);
    }

    internal static IArrowArray Required(RecordBatch batch, string name)
    {
        var i = batch.Schema.GetFieldIndex(name);
        return i >= 0 ? batch.Column(i) : throw new IngestError($"column '{name}' is missing from the sample record");
    }

    /// <summary>The <c>labels</c> struct: one run-end encoded dictionary column per label name (absent: no labels).</summary>
    private static (string, RunIds)[] Labels(RecordBatch batch, int n, SymbolTable symbols)
    {
        var i = batch.Schema.GetFieldIndex("labels");
        if (i < 0)
        {
            return [];
        }

        var labels = As<StructArray>(batch.Column(i), "labels", "Struct");
        var type = (StructType)labels.Data.DataType;
        var result = new (string, RunIds)[type.Fields.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var f = 0; f < result.Length; f++)
        {
            var name = type.Fields[f].Name;
            var column = "labels." + name;
            TypeNames.CheckLabelName(name, column);
            if (!seen.Add(name))
            {
                throw Error(column, "the label appears twice");
            }

            result[f] = (name, SampleRows.Strings(labels.Fields[f], column, n, symbols, typePart: false));
        }

        return result;
    }
}
