using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;

namespace Parca.Ingest.Otlp;

/// <summary>
/// The dictionary's checks, all before anything is converted: entry 0 of each table is the zero value, and every
/// index one entry holds points inside its table. Messages name the field (<c>dictionary.location_table[3].mapping_index</c>).
/// </summary>
internal sealed partial class OtlpDictionary
{
    private void Validate()
    {
        var strings = _d.StringTable;
        if (strings.Count == 0 || strings[0].Length != 0)
        {
            throw new IngestError(strings.Count == 0
                ? "dictionary.string_table: empty (entry 0 must be the empty string)"
                : $"dictionary.string_table[0]: must be the empty string, got '{Clip(strings[0])}'");
        }

        ZeroFirst(_d.MappingTable, "mapping_table", m => m.MemoryStart == 0 && m.MemoryLimit == 0 && m.FileOffset == 0 && m.FilenameStrindex == 0 && m.AttributeIndices.Count == 0);
        ZeroFirst(_d.LocationTable, "location_table", l => l.MappingIndex == 0 && l.Address == 0 && l.Lines.Count == 0 && l.AttributeIndices.Count == 0);
        ZeroFirst(_d.FunctionTable, "function_table", f => f.NameStrindex == 0 && f.SystemNameStrindex == 0 && f.FilenameStrindex == 0 && f.StartLine == 0);
        ZeroFirst(_d.LinkTable, "link_table", l => l.TraceId.IsEmpty && l.SpanId.IsEmpty);
        ZeroFirst(_d.AttributeTable, "attribute_table", a => a.KeyStrindex == 0 && a.UnitStrindex == 0 && (a.Value is null || a.Value.ValueCase == AnyValue.ValueOneofCase.None));
        ZeroFirst(_d.StackTable, "stack_table", s => s.LocationIndices.Count == 0);

        for (var i = 1; i < _d.AttributeTable.Count; i++)
        {
            var a = _d.AttributeTable[i];
            var where = $"dictionary.attribute_table[{i}]";
            InTable(a.KeyStrindex, strings.Count, where + ".key_strindex", "string_table");
            InTable(a.UnitStrindex, strings.Count, where + ".unit_strindex", "string_table");
            if (a.Value is null || a.Value.ValueCase == AnyValue.ValueOneofCase.None)
            {
                throw new IngestError($"{where}.value: not set");
            }
        }

        for (var i = 1; i < _d.MappingTable.Count; i++)
        {
            var m = _d.MappingTable[i];
            InTable(m.FilenameStrindex, strings.Count, $"dictionary.mapping_table[{i}].filename_strindex", "string_table");
            Indices(m.AttributeIndices, _d.AttributeTable.Count, $"dictionary.mapping_table[{i}].attribute_indices", "attribute_table");
        }

        for (var i = 1; i < _d.FunctionTable.Count; i++)
        {
            var f = _d.FunctionTable[i];
            var where = $"dictionary.function_table[{i}]";
            InTable(f.NameStrindex, strings.Count, where + ".name_strindex", "string_table");
            InTable(f.SystemNameStrindex, strings.Count, where + ".system_name_strindex", "string_table");
            InTable(f.FilenameStrindex, strings.Count, where + ".filename_strindex", "string_table");
        }

        for (var i = 1; i < _d.LocationTable.Count; i++)
        {
            var l = _d.LocationTable[i];
            var where = $"dictionary.location_table[{i}]";
            InTable(l.MappingIndex, _d.MappingTable.Count, where + ".mapping_index", "mapping_table");
            for (var j = 0; j < l.Lines.Count; j++)
            {
                InTable(l.Lines[j].FunctionIndex, _d.FunctionTable.Count, $"{where}.lines[{j}].function_index", "function_table");
            }

            Indices(l.AttributeIndices, _d.AttributeTable.Count, where + ".attribute_indices", "attribute_table");
        }

        for (var i = 1; i < _d.LinkTable.Count; i++)
        {
            var l = _d.LinkTable[i];
            if (l.TraceId.Length != 16 || l.SpanId.Length != 8)
            {
                throw new IngestError($"dictionary.link_table[{i}]: trace_id must be 16 bytes and span_id 8, got {l.TraceId.Length} and {l.SpanId.Length}");
            }
        }

        for (var i = 1; i < _d.StackTable.Count; i++)
        {
            var s = _d.StackTable[i].LocationIndices;
            for (var j = 0; j < s.Count; j++)
            {
                // Entry 0 is the "unset" location: a stack frame that points at it says nothing.
                if (s[j] <= 0 || s[j] >= _d.LocationTable.Count)
                {
                    throw new IngestError($"dictionary.stack_table[{i}].location_indices[{j}]: {s[j]} is not a location (location_table has {_d.LocationTable.Count} entries, entry 0 is unset)");
                }
            }
        }
    }

    /// <summary>Throws unless 0 ≤ <paramref name="index"/> &lt; <paramref name="count"/>.</summary>
    internal static void InTable(int index, int count, string where, string table)
    {
        if ((uint)index >= (uint)count)
        {
            throw new IngestError($"{where}: {index} is out of range ({table} has {count} entries)");
        }
    }

    internal static void Indices(RepeatedField<int> indices, int count, string where, string table)
    {
        for (var j = 0; j < indices.Count; j++)
        {
            InTable(indices[j], count, $"{where}[{j}]", table);
        }
    }

    private static void ZeroFirst<T>(RepeatedField<T> table, string name, Func<T, bool> isZero)
    {
        if (table.Count > 0 && !isZero(table[0]))
        {
            throw new IngestError($"dictionary.{name}[0]: must be the zero value (entry 0 means 'unset')");
        }
    }

    internal static string Clip(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
