using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Arrow;
using Parca.Query.Engine;

namespace Parca.Query.Reports.Types;

/// <summary>
/// REPORT_TYPE_SOURCE: per-line cost of one source file of one build id, as Parca's source report: an Arrow record
/// with one row per line of the file (row i = line i + 1) and the columns <c>cumulative</c> and <c>flat</c> (int64),
/// plus the file's text and the sample unit. A line's cumulative is the value of every stack through a frame at that
/// line (a frame of a location whose mapping has the build id and whose function's file is the file; recursion
/// counts once per frame, as Parca's); its flat is the value of the stacks whose innermost frame is there. Lines
/// past the end of the text are left out. The text comes from the server (<see cref="SourceInput"/>).
/// </summary>
internal static class SourceReport
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var input = c.Source ?? throw new QueryException(QueryErrorKind.InvalidArgument,
            "report_type SOURCE needs source_reference with build_id and filename");
        var (cumulative, flat) = Lines(c.Result, input.BuildId, input.Filename, LineCount(input.Text));
        var record = ArrowIpcWriter.Write(
        [
            new IntColumn("cumulative", 64, true, cumulative),
            new IntColumn("flat", 64, true, flat),
        ]);
        response.Source = new Source
        {
            Record = UnsafeByteOperations.UnsafeWrap(record),
            Source_ = input.Text,
            Unit = c.Result.SampleUnit,
        };
    }

    /// <summary>Lines of a text: its newlines, plus a last line without one.</summary>
    internal static int LineCount(string text)
    {
        var n = text.AsSpan().Count('\n');
        return text.Length > 0 && text[^1] != '\n' ? n + 1 : n;
    }

    /// <summary>Whether a location of the result with the build id has a line in the file.</summary>
    internal static bool References(MergeResult r, string buildId, string filename) => Matching(r, buildId, filename).Matches is not null;

    /// <summary>Per result location: whether its mapping has the build id and a line of it is in the file; null when none.</summary>
    private static (bool[]? Matches, int Filename) Matching(MergeResult r, string buildId, string filename)
    {
        var sym = r.Symbols;
        var buildIdString = -1;
        var filenameString = -1;
        for (var i = 0; i < sym.Strings.Count; i++)
        {
            if (buildIdString < 0 && sym.Strings[i] == buildId)
            {
                buildIdString = i;
            }

            if (filenameString < 0 && sym.Strings[i] == filename)
            {
                filenameString = i;
            }
        }

        if (buildIdString <= 0 || filenameString <= 0)
        {
            return (null, -1);
        }

        var matches = new bool[sym.Locations.Count];
        var any = false;
        for (var l = 1; l < sym.Locations.Count; l++)
        {
            var loc = sym.Locations[l];
            if (loc.Mapping == 0 || sym.Mappings[loc.Mapping].BuildId != buildIdString)
            {
                continue;
            }

            for (var k = 0; k < loc.LineCount; k++)
            {
                if (sym.Functions[sym.Lines[loc.FirstLine + k].Function].FileName == filenameString)
                {
                    matches[l] = any = true;
                    break;
                }
            }
        }

        return (any ? matches : null, filenameString);
    }

    internal static (long[] Cumulative, long[] Flat) Lines(MergeResult r, string buildId, string filename, int lineCount)
    {
        var cumulative = new long[lineCount];
        var flat = new long[lineCount];
        var sym = r.Symbols;
        var tree = r.Tree;
        var n = tree.Count;
        var (matches, filenameString) = Matching(r, buildId, filename);
        if (matches is null || lineCount == 0)
        {
            return (cumulative, flat);
        }

        // Subtree totals: every stack through a node passes through its location once. Children have larger ids.
        var total = new long[n];
        tree.Value.CopyTo(total);
        for (var node = n - 1; node > 0; node--)
        {
            var parent = tree.Parent[node];
            if (parent > 0)
            {
                total[parent] += total[node];
            }
        }

        for (var node = 1; node < n; node++)
        {
            var location = tree.Location[node];
            if (location <= 0 || !matches[location])
            {
                continue;
            }

            var loc = sym.Locations[location];
            for (var k = 0; k < loc.LineCount; k++)
            {
                var line = sym.Lines[loc.FirstLine + k];
                if (line.Line < 1 || line.Line > lineCount || sym.Functions[line.Function].FileName != filenameString)
                {
                    continue;
                }

                cumulative[line.Line - 1] += total[node];
                if (k == 0)
                {
                    flat[line.Line - 1] += tree.Value[node];
                }
            }
        }

        return (cumulative, flat);
    }
}

/// <summary>What the SOURCE report is about: the build id and file asked for, and the file's text the server found.</summary>
public sealed record SourceInput(string BuildId, string Filename, string Text);
