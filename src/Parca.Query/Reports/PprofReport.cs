using System.IO.Compression;
using Parca.Pprof.Protobuf;
using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// REPORT_TYPE_PPROF: the result as a gzipped pprof profile with one sample type (the result type, e.g.
/// cpu/nanoseconds for merged CPU samples). Label groups become sample labels; a diff writes diff values.
/// </summary>
public static class PprofReport
{
    public static byte[] Build(MergeResult r)
    {
        var sym = r.Symbols;
        var strings = new List<string>(sym.Strings);
        var stringIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < strings.Count; i++)
        {
            stringIds.TryAdd(strings[i], i);
        }

        int Str(string s)
        {
            if (!stringIds.TryGetValue(s, out var id))
            {
                id = strings.Count;
                strings.Add(s);
                stringIds.Add(s, id);
            }

            return id;
        }

        using var w = new ProtoWriter();
        using var m = new ProtoWriter();
        using var inner = new ProtoWriter();
        using var scratch = new ProtoWriter();

        m.Clear();
        m.WriteField(1, (ulong)Str(r.SampleType));
        m.WriteField(2, (ulong)Str(r.SampleUnit));
        w.WriteMessage(1, m);

        var tree = r.Tree;
        var stack = new List<ulong>(64);
        ulong[] one = [0];
        for (var node = 1; node < tree.Count; node++)
        {
            var value = r.IsDiff ? r.FlatDiff(node) : tree.Value[node];
            if (value == 0 && !(r.IsDiff && (tree.Value[node] != 0 || tree.Base[node] != 0)))
            {
                continue;
            }

            stack.Clear();
            var group = -1;
            for (var n = node; n > 0; n = tree.Parent[n])
            {
                if (tree.IsGroupRoot(n))
                {
                    group = tree.Group[n];
                    break;
                }

                stack.Add((ulong)tree.Location[n]);
            }

            m.Clear();
            m.WritePacked(1, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(stack), scratch);
            one[0] = (ulong)value;
            m.WritePacked(2, one, scratch);
            if (group >= 0)
            {
                foreach (var l in r.Groups[group].Labels)
                {
                    inner.Clear();
                    inner.WriteField(1, (ulong)Str(l.Name));
                    inner.WriteField(2, (ulong)Str(l.Value));
                    m.WriteMessage(3, inner);
                }
            }

            w.WriteMessage(2, m);
        }

        for (var i = 1; i < sym.Mappings.Count; i++)
        {
            var mp = sym.Mappings[i];
            m.Clear();
            m.WriteField(1, (ulong)i);
            m.WriteField(2, mp.Start);
            m.WriteField(3, mp.Limit);
            m.WriteField(4, mp.Offset);
            m.WriteField(5, (ulong)mp.File);
            m.WriteField(6, (ulong)mp.BuildId);
            m.WriteField(7, 1);
            m.WriteField(8, 1);
            m.WriteField(9, 1);
            w.WriteMessage(3, m);
        }

        for (var i = 1; i < sym.Locations.Count; i++)
        {
            var loc = sym.Locations[i];
            m.Clear();
            m.WriteField(1, (ulong)i);
            m.WriteField(2, (ulong)loc.Mapping);
            m.WriteField(3, loc.Address);
            for (var k = 0; k < loc.LineCount; k++)
            {
                var line = sym.Lines[loc.FirstLine + k];
                inner.Clear();
                inner.WriteField(1, (ulong)line.Function);
                inner.WriteField(2, (ulong)line.Line);
                m.WriteMessage(4, inner);
            }

            w.WriteMessage(4, m);
        }

        for (var i = 1; i < sym.Functions.Count; i++)
        {
            var f = sym.Functions[i];
            m.Clear();
            m.WriteField(1, (ulong)i);
            m.WriteField(2, (ulong)f.Name);
            m.WriteField(3, (ulong)f.SystemName);
            m.WriteField(4, (ulong)f.FileName);
            m.WriteField(5, (ulong)f.StartLine);
            w.WriteMessage(5, m);
        }

        var periodType = Str(r.PeriodType);
        var periodUnit = Str(r.PeriodUnit);
        foreach (var s in strings)
        {
            w.WriteString(6, s);
        }

        w.WriteField(9, (ulong)r.TimeNanos);
        w.WriteField(10, (ulong)r.DurationNanos);
        m.Clear();
        m.WriteField(1, (ulong)periodType);
        m.WriteField(2, (ulong)periodUnit);
        w.WriteMessage(11, m);
        w.WriteField(12, (ulong)r.Period);

        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(w.WrittenSpan);
        }

        return ms.ToArray();
    }
}
