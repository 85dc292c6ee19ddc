using System.Buffers.Binary;
using System.Text;
using Parca.Symbols.Symbolization;

namespace Parca.Symbols.Go;

/// <summary>
/// File, line and inlined frames of a Go binary from its .gopclntab alone (what a stripped Go binary still has), the way
/// the Go runtime's own tracebacks read them: the function by binary search of the function table, file and line from
/// the function's pcfile/pcln value tables at the pc, and inlined calls from the inline tree (FUNCDATA_InlTree, found
/// at an offset from moduledata.gofunc) indexed by the PCDATA_InlTreeIndex table — each inlined call names the callee
/// and the pc of its call site in the caller, whose file and line are read the same way. Go 1.18/1.19 and 1.20+ layouts
/// (the _func record grew startLine and the inlinedCall record changed in 1.20). Go 1.16/1.17 files get names only
/// (through <see cref="GoPclntab"/>). Lookups never throw: a record or table out of bounds means "no answer" for that pc.
/// </summary>
internal sealed class GoLineTable
{
    private const int PcdataInlTreeIndex = 2;
    private const int FuncdataInlTree = 3;
    private const int MaxInlineDepth = 64;
    private const int MaxStringBytes = 4096;

    private readonly byte[] _data;
    private readonly PclntabHeader _header;
    private readonly ulong _text;
    private readonly GoFuncData? _gofunc;
    private readonly ulong _gofuncAddress;
    private readonly Dictionary<ulong, string> _strings = [];
    private readonly Lock _lock = new();

    private GoLineTable(byte[] data, PclntabHeader header, ulong text, GoFuncData? gofunc)
    {
        _data = data;
        _header = header;
        _text = text;
        if (gofunc is not null && ChooseGofunc(gofunc) is { } address)
        {
            _gofunc = gofunc;
            _gofuncAddress = address;
        }
    }

    /// <summary>Whether inline trees could be located (moduledata found); without them each pc gets one frame.</summary>
    public bool HasInlineTrees => _gofunc is not null;

    public long Bytes => _data.Length + (_gofunc?.Bytes ?? 0);

    /// <summary>
    /// A line table over <paramref name="pclntab"/>, or null for layouts older than Go 1.18. Entries are offsets from the
    /// header's textStart; <paramref name="textStart"/> (the address of .text) stands in when that is 0 (PIE files).
    /// Throws <see cref="InvalidDataException"/> for a corrupt header.
    /// </summary>
    public static GoLineTable? Create(byte[] pclntab, ulong textStart, GoFuncData? gofunc, string nameForErrors)
    {
        var header = PclntabHeader.Parse(pclntab, nameForErrors);
        if (!header.Modern)
        {
            return null;
        }

        return new GoLineTable(pclntab, header, header.TextStart != 0 ? header.TextStart : textStart, gofunc);
    }

    /// <summary>Appends the frames of <paramref name="pc"/> innermost first; returns how many (0: not a Go function here).</summary>
    public int Lookup(ulong pc, List<SymbolizedFrame> into)
    {
        if (!TryFindFunction(pc, out var func, out var entry))
        {
            return 0;
        }

        var d = _data.AsSpan();
        var recordSize = _header.Go120OrLater ? 44 : 40;
        var nameOff = BinaryPrimitives.ReadInt32LittleEndian(d[(func + 4)..]);
        var pcfile = BinaryPrimitives.ReadUInt32LittleEndian(d[(func + 20)..]);
        var pcln = BinaryPrimitives.ReadUInt32LittleEndian(d[(func + 24)..]);
        var npcdata = BinaryPrimitives.ReadUInt32LittleEndian(d[(func + 28)..]);
        var cuOffset = BinaryPrimitives.ReadUInt32LittleEndian(d[(func + 32)..]);
        var nfuncdata = d[func + recordSize - 1];
        var tables = (long)func + recordSize;
        if (tables + ((npcdata + nfuncdata) * 4L) > d.Length)
        {
            return 0;
        }

        // The inline tree of this function: pcdata[InlTreeIndex] maps pc → tree index; funcdata[InlTree] locates the tree.
        uint inlIndexTable = 0;
        ulong? tree = null;
        if (_gofunc is not null && npcdata > PcdataInlTreeIndex && nfuncdata > FuncdataInlTree)
        {
            inlIndexTable = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(tables + (PcdataInlTreeIndex * 4))..]);
            var off = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(tables + (npcdata * 4) + (FuncdataInlTree * 4))..]);
            tree = off == uint.MaxValue ? null : _gofuncAddress + off;
        }

        var before = into.Count;
        lock (_lock)
        {
            var tracepc = pc;
            for (var depth = 0; depth < MaxInlineDepth; depth++)
            {
                var fileno = PcValue(pcfile, entry, tracepc);
                var line = PcValue(pcln, entry, tracepc);
                var file = fileno < 0 ? "" : FileName(cuOffset, (uint)fileno);
                var ix = tree is null || inlIndexTable == 0 ? -1 : PcValue(inlIndexTable, entry, tracepc);
                if (ix < 0 || !TryInlinedCall(tree!.Value, ix, out var calleeName, out var parentPc))
                {
                    var name = FuncName(nameOff);
                    into.Add(new SymbolizedFrame(name, name, file, Math.Max(line, 0)));
                    break;
                }

                var callee = FuncName(calleeName);
                into.Add(new SymbolizedFrame(callee, callee, file, Math.Max(line, 0)));
                tracepc = entry + (ulong)parentPc;
            }
        }

        return into.Count - before;
    }

    /// <summary>
    /// The gofunc candidate under which the inline trees of up to 64 functions spread over the table decode: records
    /// whose callee name offset starts a name of the name table and whose call-site offset is sane. None (corrupt or an
    /// unknown layout): no inlined frames rather than wrong ones.
    /// </summary>
    private ulong? ChooseGofunc(GoFuncData data)
    {
        var d = _data.AsSpan();
        var recordSize = _header.Go120OrLater ? 44 : 40;
        var ftab = (long)_header.PclnOffset;
        var n = (long)_header.FunctionCount;
        var trees = new List<uint>();
        for (var i = 0L; i < n && trees.Count < 64; i += Math.Max(1, n / 1024))
        {
            var record = ftab + BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(ftab + (i * 8) + 4)..]);
            if (record + recordSize > d.Length)
            {
                continue;
            }

            var npcdata = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(record + 28)..]);
            var nfuncdata = d[(int)(record + recordSize - 1)];
            var slot = record + recordSize + (npcdata * 4L) + (FuncdataInlTree * 4);
            if (npcdata > PcdataInlTreeIndex && npcdata < 64 && nfuncdata > FuncdataInlTree && slot + 4 <= d.Length
                && BinaryPrimitives.ReadUInt32LittleEndian(d[(int)slot..]) is var off && off != uint.MaxValue)
            {
                trees.Add(off);
            }
        }

        var names = (long)_header.CutabOffset - (long)_header.FuncnameOffset;
        var size = _header.Go120OrLater ? 16 : 20;
        foreach (var candidate in data.Candidates)
        {
            var good = 0;
            foreach (var off in trees)
            {
                if (!data.TryRead(candidate + off, size, out var r))
                {
                    continue;
                }

                var nameOff = BinaryPrimitives.ReadInt32LittleEndian(r[(_header.Go120OrLater ? 4 : 12)..]);
                var parentPc = BinaryPrimitives.ReadInt32LittleEndian(r[(_header.Go120OrLater ? 8 : 16)..]);
                if (nameOff > 0 && nameOff < names && d[(int)((long)_header.FuncnameOffset + nameOff - 1)] == 0 && parentPc is >= 0 and < 1 << 24)
                {
                    good++;
                }
            }

            if (trees.Count == 0 || good * 10 >= trees.Count * 9)
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Finds the function containing <paramref name="pc"/>: its _func record offset in the section and its entry.</summary>
    private bool TryFindFunction(ulong pc, out int func, out ulong entry)
    {
        func = 0;
        entry = 0;
        if (pc < _text || pc - _text >= uint.MaxValue)
        {
            return false;
        }

        var d = _data.AsSpan();
        var ftab = (int)_header.PclnOffset;
        var n = (int)_header.FunctionCount;
        var off = (uint)(pc - _text);

        // Last entry with entryoff <= off; the table ends with the end offset of the last function.
        int lo = 0, hi = n - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            if (BinaryPrimitives.ReadUInt32LittleEndian(d[(ftab + (mid * 8))..]) <= off)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        if (found < 0 || off >= BinaryPrimitives.ReadUInt32LittleEndian(d[(ftab + ((found + 1) * 8))..]))
        {
            return false;
        }

        var funcoff = BinaryPrimitives.ReadUInt32LittleEndian(d[(ftab + (found * 8) + 4)..]);
        var record = (long)ftab + funcoff;
        if (record + (_header.Go120OrLater ? 44 : 40) > d.Length)
        {
            return false;
        }

        func = (int)record;
        entry = _text + BinaryPrimitives.ReadUInt32LittleEndian(d[func..]);
        return pc >= entry;
    }

    /// <summary>
    /// The value of the pc-value table at <paramref name="table"/> (offset into pctab) for <paramref name="target"/>:
    /// pairs of (zig-zag value delta, pc delta × quantum) starting from value −1 at the entry. −1 when not covered.
    /// </summary>
    private int PcValue(uint table, ulong entry, ulong target)
    {
        if (table == 0)
        {
            return -1;
        }

        var d = _data.AsSpan();
        var p = (long)_header.PctabOffset + table;
        var value = -1;
        var pc = entry;
        var first = true;
        while (p < d.Length)
        {
            if (!TryVarint(d, ref p, out var uv) || (uv == 0 && !first))
            {
                return -1;
            }

            value += (int)(-(uv & 1) ^ (uv >> 1));
            if (!TryVarint(d, ref p, out var pcDelta))
            {
                return -1;
            }

            pc += (ulong)pcDelta * _header.PcQuantum;
            if (target < pc)
            {
                return value;
            }

            first = false;
        }

        return -1;
    }

    private bool TryInlinedCall(ulong tree, int index, out int nameOff, out int parentPc)
    {
        // Go 1.20+: {funcID u8, pad [3]u8, nameOff i32, parentPc i32, startLine i32}.
        // Go 1.12–1.19: {parent i16, funcID u8, pad u8, file i32, line i32, func_ i32, parentPc i32}.
        var size = _header.Go120OrLater ? 16 : 20;
        nameOff = 0;
        parentPc = 0;
        if (!_gofunc!.TryRead(tree + ((ulong)index * (ulong)size), size, out var record))
        {
            return false;
        }

        nameOff = BinaryPrimitives.ReadInt32LittleEndian(record[(_header.Go120OrLater ? 4 : 12)..]);
        parentPc = BinaryPrimitives.ReadInt32LittleEndian(record[(_header.Go120OrLater ? 8 : 16)..]);
        return parentPc >= 0;
    }

    private string FuncName(int nameOff) =>
        nameOff < 0 ? "" : ReadString(_header.FuncnameOffset + (ulong)nameOff);

    private string FileName(uint cuOffset, uint fileno)
    {
        var at = _header.CutabOffset + (((ulong)cuOffset + fileno) * 4);
        if (at + 4 > (ulong)_data.Length)
        {
            return "";
        }

        var fileoff = BinaryPrimitives.ReadUInt32LittleEndian(_data.AsSpan((int)at));
        return fileoff == uint.MaxValue ? "" : ReadString(_header.FiletabOffset + fileoff);
    }

    /// <summary>A NUL-terminated string at a section offset, decoded once (function and file names repeat across pcs).</summary>
    private string ReadString(ulong offset)
    {
        if (_strings.TryGetValue(offset, out var s))
        {
            return s;
        }

        if (offset >= (ulong)_data.Length)
        {
            return "";
        }

        var rest = _data.AsSpan((int)offset, (int)Math.Min((ulong)_data.Length - offset, MaxStringBytes));
        var end = rest.IndexOf((byte)0);
        s = Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
        _strings[offset] = s;
        return s;
    }

    private static bool TryVarint(ReadOnlySpan<byte> d, ref long p, out uint value)
    {
        value = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (p >= d.Length)
            {
                return false;
            }

            var b = d[(int)p++];
            value |= (uint)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }
}
