using System.Runtime.CompilerServices;
using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;

namespace Parca.Query.Reports.Types;

/// <summary>
/// The rows of a TOP report (the first <see cref="Kept"/> of an order over the table) as TopNode messages or as the
/// encoded QueryResponse. The encoding writes exactly what the generated serializer writes for the messages
/// <see cref="ToMessage"/> builds (fields in number order, proto3 defaults left out, every row's Location, Line,
/// Mapping and Function as <see cref="ProtoSymbols.Of"/> fills them), without building them: sizes come from the
/// symbols, with each string's, mapping's and function's size computed once. A test holds the two forms equal.
/// </summary>
internal sealed class TopEncoder
{
    private readonly MergeResult _result;
    private readonly TopTable _table;
    private readonly int[] _order;
    private readonly int[] _stringSize;
    private readonly int[] _mappingSize;
    private readonly int[] _functionSize;

    public TopEncoder(MergeResult r, TopTable t, int[] order)
    {
        _result = r;
        _table = t;
        _order = order;
        _stringSize = new int[r.Symbols.Strings.Count];
        _mappingSize = new int[r.Symbols.Mappings.Count];
        _functionSize = new int[r.Symbols.Functions.Count];
    }

    /// <summary>Rows listed: the first <see cref="Kept"/> of the order.</summary>
    public int Kept { get; set; }

    public long Trimmed { get; set; }

    public string TrimReason { get; set; } = "";

    public Top ToMessage()
    {
        var r = _result;
        var t = _table;
        var top = new Top { Unit = r.SampleUnit, TotalRows = t.Count, Reported = Kept, Trimmed = Trimmed, TrimReason = TrimReason };
        top.List.Capacity = Kept;
        for (var k = 0; k < Kept; k++)
        {
            var i = _order[k];
            top.List.Add(new TopNode
            {
                Meta = ProtoSymbols.TopMeta(r, t.Location[i], t.Line[i]),
                Cumulative = t.Cumulative[i],
                Flat = t.Flat[i],
                Diff = r.IsDiff ? t.FlatDiff[i] : 0,
            });
        }

        return top;
    }

    /// <summary>Bytes of <paramref name="row"/> in Top.list: its tag, length and TopNode.</summary>
    public int RowSize(int row)
    {
        var node = Sizes(row).Node;
        return 1 + CodedOutputStream.ComputeLengthSize(node) + node;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // once per query: no unoptimized first runs
    public byte[] Encode(long total, long filtered)
    {
        var r = _result;
        var topSize = 0;
        for (var k = 0; k < Kept; k++)
        {
            topSize += RowSize(_order[k]);
        }

        topSize += Int32Field(Kept) + StringField(r.SampleUnit) + (TrimReason.Length == 0 ? 0 : 2 + CodedOutputStream.ComputeStringSize(TrimReason)) +
            (_table.Count == 0 ? 0 : 2 + CodedOutputStream.ComputeInt64Size(_table.Count)) + (Trimmed == 0 ? 0 : 2 + CodedOutputStream.ComputeInt64Size(Trimmed));
        var size = 1 + CodedOutputStream.ComputeLengthSize(topSize) + topSize + Int64Field(total) + Int64Field(filtered);
        var output = new byte[size];
        using var w = new CodedOutputStream(output);
        w.WriteRawTag(58); // QueryResponse.top = 7
        w.WriteLength(topSize);
        for (var k = 0; k < Kept; k++)
        {
            WriteRow(w, _order[k]);
        }

        if (Kept != 0)
        {
            w.WriteRawTag(16);
            w.WriteInt32(Kept);
        }

        if (r.SampleUnit.Length != 0)
        {
            w.WriteRawTag(34);
            w.WriteString(r.SampleUnit);
        }

        if (TrimReason.Length != 0)
        {
            w.WriteTag(100, WireFormat.WireType.LengthDelimited);
            w.WriteString(TrimReason);
        }

        if (_table.Count != 0)
        {
            w.WriteTag(101, WireFormat.WireType.Varint);
            w.WriteInt64(_table.Count);
        }

        if (Trimmed != 0)
        {
            w.WriteTag(102, WireFormat.WireType.Varint);
            w.WriteInt64(Trimmed);
        }

        if (total != 0)
        {
            w.WriteRawTag(72);
            w.WriteInt64(total);
        }

        if (filtered != 0)
        {
            w.WriteRawTag(80);
            w.WriteInt64(filtered);
        }

        w.CheckNoSpaceLeft();
        return output;
    }

    /// <summary>Sizes of one row's messages (0 for those it does not have, but Location, Meta and Node).</summary>
    private readonly record struct RowSizes(int Node, int Meta, int Location, int Line, int Mapping, int Function);

    private RowSizes Sizes(int row)
    {
        var sym = _result.Symbols;
        var (locationId, lineIndex) = (_table.Location[row], _table.Line[row]);
        var loc = sym.Locations[locationId];
        var hasLine = lineIndex >= 0 && lineIndex < loc.LineCount;
        var line = 0;
        var function = 0;
        if (hasLine)
        {
            var ln = sym.Lines[loc.FirstLine + lineIndex];
            line = IdField(ln.Function) + Int64Field(ln.Line);
            function = ln.Function == 0 ? 0 : FunctionSize(ln.Function);
        }

        var mapping = loc.Mapping == 0 ? 0 : MappingSize(loc.Mapping);
        var location = IdField(locationId) + UInt64Field(loc.Address) + (loc.Mapping == 0 ? 0 : IdField(loc.Mapping)) + (hasLine ? MessageField(line) : 0);
        var meta = MessageField(location) + (loc.Mapping == 0 ? 0 : MessageField(mapping)) + (function == 0 ? 0 : MessageField(function)) + (hasLine ? MessageField(line) : 0);
        var node = MessageField(meta) + Int64Field(_table.Cumulative[row]) + Int64Field(_table.Flat[row]) + Int64Field(Diff(row));
        return new RowSizes(node, meta, location, line, mapping, function);
    }

    private long Diff(int row) => _result.IsDiff ? _table.FlatDiff[row] : 0;

    private void WriteRow(CodedOutputStream w, int row)
    {
        var sym = _result.Symbols;
        var s = Sizes(row);
        var (locationId, lineIndex) = (_table.Location[row], _table.Line[row]);
        var loc = sym.Locations[locationId];
        w.WriteRawTag(10); // Top.list
        w.WriteLength(s.Node);
        w.WriteRawTag(10); // TopNode.meta
        w.WriteLength(s.Meta);

        w.WriteRawTag(10); // TopNodeMeta.location
        w.WriteLength(s.Location);
        w.WriteRawTag(10);
        w.WriteString(ProtoSymbols.Id(locationId));
        WriteUInt64(w, 16, loc.Address);
        if (loc.Mapping != 0)
        {
            w.WriteRawTag(34);
            w.WriteString(ProtoSymbols.Id(loc.Mapping));
        }

        var hasLine = s.Line != 0;
        var ln = hasLine ? sym.Lines[loc.FirstLine + lineIndex] : default;
        if (hasLine)
        {
            w.WriteRawTag(50); // Location.lines
            WriteLine(w, s.Line, ln);
        }

        if (loc.Mapping != 0)
        {
            var m = sym.Mappings[loc.Mapping];
            w.WriteRawTag(18); // TopNodeMeta.mapping
            w.WriteLength(s.Mapping);
            w.WriteRawTag(10);
            w.WriteString(ProtoSymbols.Id(loc.Mapping));
            WriteUInt64(w, 16, m.Start);
            WriteUInt64(w, 24, m.Limit);
            WriteUInt64(w, 32, m.Offset);
            WriteString(w, 42, m.File);
            WriteString(w, 50, m.BuildId);
            w.WriteRawTag(56); // has_functions
            w.WriteBool(true);
        }

        if (s.Function != 0)
        {
            var f = sym.Functions[ln.Function];
            w.WriteRawTag(26); // TopNodeMeta.function
            w.WriteLength(s.Function);
            w.WriteRawTag(10);
            w.WriteString(ProtoSymbols.Id(ln.Function));
            WriteInt64(w, 16, f.StartLine);
            WriteString(w, 26, f.Name);
            WriteString(w, 34, f.SystemName);
            WriteString(w, 42, f.FileName);
        }

        if (hasLine)
        {
            w.WriteRawTag(34); // TopNodeMeta.line
            WriteLine(w, s.Line, ln);
        }

        WriteInt64(w, 16, _table.Cumulative[row]);
        WriteInt64(w, 24, _table.Flat[row]);
        WriteInt64(w, 32, Diff(row));
    }

    private static void WriteLine(CodedOutputStream w, int size, Storage.Symbols.LineSym ln)
    {
        w.WriteLength(size);
        w.WriteRawTag(10);
        w.WriteString(ProtoSymbols.Id(ln.Function));
        WriteInt64(w, 16, ln.Line);
    }

    private static void WriteInt64(CodedOutputStream w, byte tag, long value)
    {
        if (value != 0)
        {
            w.WriteRawTag(tag);
            w.WriteInt64(value);
        }
    }

    private static void WriteUInt64(CodedOutputStream w, byte tag, ulong value)
    {
        if (value != 0)
        {
            w.WriteRawTag(tag);
            w.WriteUInt64(value);
        }
    }

    private void WriteString(CodedOutputStream w, byte tag, int stringId)
    {
        var s = _result.Symbols.String(stringId);
        if (s.Length != 0)
        {
            w.WriteRawTag(tag);
            w.WriteString(s);
        }
    }

    private int MappingSize(int id)
    {
        ref var size = ref _mappingSize[id];
        if (size == 0)
        {
            var m = _result.Symbols.Mappings[id];
            size = IdField(id) + UInt64Field(m.Start) + UInt64Field(m.Limit) + UInt64Field(m.Offset) + StringField(m.File) + StringField(m.BuildId) + 2;
        }

        return size;
    }

    private int FunctionSize(int id)
    {
        ref var size = ref _functionSize[id];
        if (size == 0)
        {
            var f = _result.Symbols.Functions[id];
            size = IdField(id) + Int64Field(f.StartLine) + StringField(f.Name) + StringField(f.SystemName) + StringField(f.FileName);
        }

        return size;
    }

    /// <summary>A non-empty string field with a one-byte tag (0 bytes when empty, as proto3 leaves it out).</summary>
    private int StringField(int stringId)
    {
        ref var size = ref _stringSize[stringId];
        if (size == 0)
        {
            var s = _result.Symbols.String(stringId);
            size = s.Length == 0 ? -1 : 1 + CodedOutputStream.ComputeStringSize(s);
        }

        return Math.Max(size, 0);
    }

    private static int StringField(string s) => s.Length == 0 ? 0 : 1 + CodedOutputStream.ComputeStringSize(s);

    /// <summary>An id field (<see cref="ProtoSymbols.Id"/>: decimal digits, never empty) with a one-byte tag.</summary>
    private static int IdField(int id)
    {
        var digits = 1;
        for (var v = id; v >= 10; v /= 10)
        {
            digits++;
        }

        return 2 + digits;
    }

    private static int MessageField(int size) => 1 + CodedOutputStream.ComputeLengthSize(size) + size;

    private static int Int64Field(long value) => value == 0 ? 0 : 1 + CodedOutputStream.ComputeInt64Size(value);

    private static int Int32Field(int value) => value == 0 ? 0 : 1 + CodedOutputStream.ComputeInt32Size(value);

    private static int UInt64Field(ulong value) => value == 0 ? 0 : 1 + CodedOutputStream.ComputeUInt64Size(value);
}
