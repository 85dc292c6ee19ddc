using Parca.Query.Engine;
using Parca.Query.Reports;

namespace Parca.Query.Arrow;

/// <summary>
/// REPORT_TYPE_TABLE_ARROW: one row per function with Parca's columns mapping_file, mapping_build_id,
/// location_address, location_line, function_startline, function_name, function_system_name, function_file_name,
/// cumulative, cumulative_diff, flat, flat_diff, callers, callees (row indices). Dictionary indices are int32.
/// </summary>
public static class TableArrowReport
{
    public static byte[] Build(TopTable t, MergeResult r) => ArrowIpcWriter.Write(Columns(t, r));

    /// <summary>The record's columns (the writer comparison in bench/ reuses them).</summary>
    internal static List<ArrowColumn> Columns(TopTable t, MergeResult r)
    {
        var sym = r.Symbols;
        var n = t.Count;
        var mappingFile = new string?[n];
        var buildId = new string?[n];
        var address = new long[n];
        var line = new long[n];
        var startLine = new long[n];
        var fnName = new string?[n];
        var fnSystem = new string?[n];
        var fnFile = new string?[n];
        var callerOffsets = new int[n + 1];
        var calleeOffsets = new int[n + 1];
        var callers = new List<long>();
        var callees = new List<long>();
        for (var i = 0; i < n; i++)
        {
            var loc = sym.Locations[t.Location[i]];
            address[i] = (long)loc.Address;
            if (loc.Mapping != 0)
            {
                mappingFile[i] = sym.String(sym.Mappings[loc.Mapping].File);
                buildId[i] = sym.String(sym.Mappings[loc.Mapping].BuildId);
            }

            if (t.Line[i] >= 0)
            {
                var ln = sym.Lines[loc.FirstLine + t.Line[i]];
                line[i] = ln.Line;
                if (ln.Function != 0)
                {
                    var f = sym.Functions[ln.Function];
                    startLine[i] = f.StartLine;
                    fnName[i] = sym.String(f.Name);
                    fnSystem[i] = sym.String(f.SystemName);
                    fnFile[i] = sym.String(f.FileName);
                }
            }

            foreach (var x in t.Callers(i))
            {
                callers.Add(x);
            }

            foreach (var x in t.Callees(i))
            {
                callees.Add(x);
            }

            callerOffsets[i + 1] = callers.Count;
            calleeOffsets[i + 1] = callees.Count;
        }

        var diffValid = Enumerable.Repeat(r.IsDiff, n).ToArray();
        return
        [
            DictionaryColumn.From("mapping_file", mappingFile, utf8: true),
            DictionaryColumn.From("mapping_build_id", buildId, utf8: true),
            new IntColumn("location_address", 64, false, address),
            new IntColumn("location_line", 64, true, line),
            new IntColumn("function_startline", 64, true, startLine),
            DictionaryColumn.From("function_name", fnName, utf8: true),
            DictionaryColumn.From("function_system_name", fnSystem, utf8: true),
            DictionaryColumn.From("function_file_name", fnFile, utf8: true),
            new IntColumn("cumulative", 64, true, [.. t.Cumulative]),
            new IntColumn("cumulative_diff", 64, true, [.. t.CumulativeDiff], diffValid),
            new IntColumn("flat", 64, true, [.. t.Flat]),
            new IntColumn("flat_diff", 64, true, [.. t.FlatDiff], diffValid),
            new IntListColumn("callers", callerOffsets, [.. callers], 64, true),
            new IntListColumn("callees", calleeOffsets, [.. callees], 64, true),
        ];
    }
}
