using Parca.Query.Engine;
using Parca.Query.Reports;

namespace Parca.Query.Arrow;

/// <summary>
/// REPORT_TYPE_TABLE_ARROW: one row per function with Parca's columns mapping_file, mapping_build_id,
/// location_address, location_line, function_startline, function_name, function_system_name, function_file_name,
/// cumulative, cumulative_diff, flat, flat_diff, callers, callees (row indices, int64 as Parca sends them, written
/// straight from the table's edge lists). Dictionary indices are int32.
/// </summary>
public static class TableArrowReport
{
    public static byte[] Build(TopTable t, MergeResult r) => ArrowIpcWriter.Write(Columns(t, r));

    /// <summary>The record's columns (the writer comparison in bench/ reuses them).</summary>
    internal static List<ArrowColumn> Columns(TopTable t, MergeResult r)
    {
        var sym = r.Symbols;
        var n = t.Count;
        var mappingFile = new int[n];
        var buildId = new int[n];
        var address = new long[n];
        var line = new long[n];
        var startLine = new long[n];
        var fnName = new int[n];
        var fnSystem = new int[n];
        var fnFile = new int[n];
        for (var i = 0; i < n; i++)
        {
            var loc = sym.Locations[t.Location[i]];
            address[i] = (long)loc.Address;
            mappingFile[i] = buildId[i] = fnName[i] = fnSystem[i] = fnFile[i] = -1;
            if (loc.Mapping != 0)
            {
                var m = sym.Mappings[loc.Mapping];
                mappingFile[i] = m.File;
                buildId[i] = m.BuildId;
            }

            if (t.Line[i] >= 0)
            {
                var ln = sym.Lines[loc.FirstLine + t.Line[i]];
                line[i] = ln.Line;
                if (ln.Function != 0)
                {
                    var f = sym.Functions[ln.Function];
                    startLine[i] = f.StartLine;
                    fnName[i] = f.Name;
                    fnSystem[i] = f.SystemName;
                    fnFile[i] = f.FileName;
                }
            }
        }

        var (callerOffsets, callers) = t.CallerLists;
        var (calleeOffsets, callees) = t.CalleeLists;
        var diffValid = new bool[n];
        diffValid.AsSpan().Fill(r.IsDiff);
        return
        [
            DictionaryColumn.FromIds("mapping_file", mappingFile, sym.Strings, utf8: true),
            DictionaryColumn.FromIds("mapping_build_id", buildId, sym.Strings, utf8: true),
            new IntColumn("location_address", 64, false, address),
            new IntColumn("location_line", 64, true, line),
            new IntColumn("function_startline", 64, true, startLine),
            DictionaryColumn.FromIds("function_name", fnName, sym.Strings, utf8: true),
            DictionaryColumn.FromIds("function_system_name", fnSystem, sym.Strings, utf8: true),
            DictionaryColumn.FromIds("function_file_name", fnFile, sym.Strings, utf8: true),
            new IntColumn("cumulative", 64, true, t.Cumulative),
            new IntColumn("cumulative_diff", 64, true, t.CumulativeDiff, diffValid),
            new IntColumn("flat", 64, true, t.Flat),
            new IntColumn("flat_diff", 64, true, t.FlatDiff, diffValid),
            new IntListColumn("callers", callerOffsets, callers, 64, true),
            new IntListColumn("callees", calleeOffsets, callees, 64, true),
        ];
    }
}
