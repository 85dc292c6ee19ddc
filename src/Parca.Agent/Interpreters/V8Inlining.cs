using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>
/// The JavaScript functions TurboFan and Maglev inlined at a pc of their code: one optimized frame stands for its
/// function and every function inlined into it, which the BPF walker cannot see. Resolved per (process, pc) in the
/// background as soon as a sample shows a V8 frame at that pc (a process killed mid-window is then still named),
/// and cached until the process exits; bounded like the symbol cache (a full cache is emptied). Code freed by the
/// garbage collector and another compiled at the same pc would keep the old answer: V8 rarely reuses code space while
/// the code that ran there is still sampled, and the next process restart clears it.
/// </summary>
internal sealed class V8Inlining : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(int Pid, ulong Pc), ulong[]> _inlined = new();
    private readonly ConcurrentDictionary<int, ulong> _streamMaps = new();
    private readonly Channel<(int Pid, ulong Pc)> _pending = Channel.CreateBounded<(int, ulong)>(new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Func<int, V8Process?> _process;
    private readonly Action<int, ulong> _name;
    private readonly int _capacity;
    private readonly Task _worker;

    /// <param name="process">The V8 process of a pid, or null.</param>
    /// <param name="name">Names an inlined function (SharedFunctionInfo) now, while the process lives.</param>
    public V8Inlining(Func<int, V8Process?> process, Action<int, ulong> name, int capacity)
    {
        _process = process;
        _name = name;
        _capacity = Math.Max(capacity, 1);
        _worker = Task.Run(ResolveQueuedAsync);
    }

    /// <summary>Called on the sampling thread for each V8 frame's pc (the call for a return address: pc - 1).</summary>
    public void Observe(int pid, ulong pc)
    {
        if (!_inlined.ContainsKey((pid, pc)))
        {
            _pending.Writer.TryWrite((pid, pc));
        }
    }

    /// <summary>The functions inlined at <paramref name="pc"/>, innermost first (empty: none, or not optimized code).</summary>
    public ReadOnlySpan<ulong> Get(int pid, ulong pc) => _inlined.TryGetValue((pid, pc), out var sfis) ? sfis : Resolve(pid, pc);

    public void RemoveProcess(int pid)
    {
        _streamMaps.TryRemove(pid, out _);
        foreach (var key in _inlined.Keys)
        {
            if (key.Pid == pid)
            {
                _inlined.TryRemove(key, out _);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _worker.ConfigureAwait(false);
    }

    private async Task ResolveQueuedAsync()
    {
        await foreach (var (pid, pc) in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (!_inlined.ContainsKey((pid, pc)))
            {
                Resolve(pid, pc);
            }
        }
    }

    private ulong[] Resolve(int pid, ulong pc)
    {
        if (_process(pid) is not { } process)
        {
            return [];
        }

        ulong[] sfis;
        try
        {
            sfis = V8InliningReader.Read(pid, process.Layout, pc, _streamMaps) ?? [];
        }
        catch (InvalidDataException)
        {
            sfis = []; // a corrupt table: the frame keeps its own function only
        }

        foreach (var sfi in sfis)
        {
            _name(pid, sfi);
        }

        if (_inlined.Count >= _capacity)
        {
            _inlined.Clear();
        }

        _inlined[(pid, pc)] = sfis;
        return sfis;
    }
}

/// <summary>
/// Reads V8 11's optimized code out of a live process: from a pc back to its InstructionStream (whose map word is
/// found once per process, then compared in memory), to its Code object (back pointer at +8), whose kind,
/// instruction start and size, source position table and deoptimization data give the inlining chain at the pc:
/// the source position table (VLQ, zigzag deltas of code offset and position) gives the position at the pc, its
/// inlining id indexes the deoptimization data's InliningPositions (position of the call, function literal index),
/// and the literal array holds each inlined SharedFunctionInfo.
/// </summary>
internal static class V8InliningReader
{
    private const int Page = 4096;
    private const int MaxScan = 1 << 20;
    private const int MaxTable = 1 << 20;
    private const int InliningPositionBytes = 16; // SourcePosition (8) + int function id, padded
    private const int MaxDepth = 64;

    // V8 11.3 Code (code.h, no pointer compression): what v8dbg_* does not export.
    private const int CodeInstructionStream = 32;
    private const int CodeInstructionStart = 40;
    private const int CodeFlags = 48;
    private const int CodeInstructionSize = 56;
    private const int CodeKindMask = 15;
    private const int CodeKindBaseline = 11;
    private const int InstructionStreamType = 252;
    private const int CodeType = 245;

    // Deoptimization data (v8dbg_DeoptimizationData*Index) and the source position table's ByteArray.
    private const int LiteralArrayIndex = 2;
    private const int InliningPositionsIndex = 7;
    private const int ArrayLength = 8;
    private const int ArrayData = 16;

    public static ulong[]? Read(int pid, V8Layout l, ulong pc, ConcurrentDictionary<int, ulong> streamMaps)
    {
        if (FindCode(pid, l, pc, streamMaps) is not { } code)
        {
            return null;
        }

        var (codeObject, offset) = code;
        if (Word(pid, codeObject - 1 + 24) is not { } table || Word(pid, codeObject - 1 + 16) is not { } deopt
            || ReadArray(pid, table, 1) is not { } bytes)
        {
            return null;
        }

        var position = PositionAt(bytes, offset);
        var inlining = InliningId(position);
        if (inlining < 0 || Word(pid, deopt - 1 + ArrayData + (8 * InliningPositionsIndex)) is not { } positions
            || Word(pid, deopt - 1 + ArrayData + (8 * LiteralArrayIndex)) is not { } literals)
        {
            return [];
        }

        var result = new List<ulong>();
        Span<byte> entry = stackalloc byte[InliningPositionBytes];
        for (var depth = 0; inlining >= 0 && depth < MaxDepth; depth++)
        {
            if (!Libc.ReadProcessMemory(pid, positions - 1 + ArrayData + (ulong)(InliningPositionBytes * inlining), entry))
            {
                return null;
            }

            var function = BinaryPrimitives.ReadInt32LittleEndian(entry[8..]);
            if (function < 0 || Word(pid, literals - 1 + ArrayData + (8 * (ulong)function)) is not { } shared)
            {
                return null;
            }

            result.Add(shared & ~2UL); // a weak reference has bit 1 set
            inlining = InliningId((long)BinaryPrimitives.ReadUInt64LittleEndian(entry));
        }

        return [.. result];
    }

    /// <summary>The inlining id of a SourcePosition (bits 31–46, stored + 1; −1: not inlined).</summary>
    private static int InliningId(long position) => (int)((position >> 31) & 0xffff) - 1;

    /// <summary>The position of the last source position table entry at or before code offset <paramref name="offset"/>.</summary>
    internal static long PositionAt(ReadOnlySpan<byte> table, long offset)
    {
        var at = 0;
        long code = 0, position = 0, found = 0;
        while (at < table.Length)
        {
            var delta = ZigZag(Vlq(table, ref at));
            code += delta < 0 ? -delta - 1 : delta; // a negative delta marks an expression position, not a statement
            var moved = ZigZag(Vlq(table, ref at));
            if (code > offset)
            {
                break;
            }

            position += moved;
            found = position;
        }

        return found;
    }

    private static long ZigZag(ulong v) => (long)(v >> 1) ^ -(long)(v & 1);

    private static ulong Vlq(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= data.Length)
            {
                throw new InvalidDataException("V8 source position table ends inside a number");
            }

            var b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("V8 source position table number longer than 64 bits");
    }

    /// <summary>
    /// The optimized Code object whose instructions hold <paramref name="pc"/>, and the pc's offset in them: the
    /// memory below the pc is read a page at a time (code space starts after an unreadable guard page) and searched
    /// for the InstructionStream map word; a match is taken only when its Code object's instructions hold the pc.
    /// </summary>
    private static (ulong Code, long Offset)? FindCode(int pid, V8Layout l, ulong pc, ConcurrentDictionary<int, ulong> streamMaps)
    {
        Span<byte> page = stackalloc byte[Page];
        var end = (pc & ~7UL) + 8;
        for (var scanned = 0; scanned < MaxScan && end > Page; scanned += Page)
        {
            var start = (end - 1) & ~(ulong)(Page - 1);
            var chunk = page[..(int)(end - start)];
            if (!Libc.ReadProcessMemory(pid, start, chunk))
            {
                return null;
            }

            for (var i = chunk.Length - 8; i >= 0; i -= 8)
            {
                var word = BinaryPrimitives.ReadUInt64LittleEndian(chunk[i..]);
                if ((word & 1) == 0 || word >= 1UL << 47 || !IsStreamMap(pid, l, word, streamMaps))
                {
                    continue;
                }

                if (Word(pid, start + (ulong)i + 8) is { } code && Type(pid, l, code) == CodeType && Code(pid, code, pc) is { } found)
                {
                    return found;
                }
            }

            end = start;
        }

        return null;
    }

    private static (ulong Code, long Offset)? Code(int pid, ulong code, ulong pc)
    {
        Span<byte> fields = stackalloc byte[32];
        if (!Libc.ReadProcessMemory(pid, code - 1 + CodeInstructionStream, fields))
        {
            return null;
        }

        var start = BinaryPrimitives.ReadUInt64LittleEndian(fields[(CodeInstructionStart - CodeInstructionStream)..]);
        var kind = BinaryPrimitives.ReadInt32LittleEndian(fields[(CodeFlags - CodeInstructionStream)..]) & CodeKindMask;
        var size = (uint)BinaryPrimitives.ReadInt32LittleEndian(fields[(CodeInstructionSize - CodeInstructionStream)..]);
        if (pc < start || pc >= start + size || kind <= CodeKindBaseline)
        {
            return null; // not this code's instructions, or not optimized code (baseline's table is another kind)
        }

        return (code, (long)(pc - start));
    }

    /// <summary>Whether <paramref name="word"/> is the InstructionStream map (found once per process, then compared).</summary>
    private static bool IsStreamMap(int pid, V8Layout l, ulong word, ConcurrentDictionary<int, ulong> streamMaps)
    {
        if (streamMaps.TryGetValue(pid, out var known))
        {
            return word == known;
        }

        // The map's map is the meta map; the map's instance type field names the type of the objects it describes.
        Span<byte> type = stackalloc byte[2];
        if (!Libc.ReadProcessMemory(pid, word - 1 + (ulong)l.MapInstanceType, type) || BinaryPrimitives.ReadUInt16LittleEndian(type) != InstructionStreamType
            || Type(pid, l, word) is not { } metaType || metaType == InstructionStreamType)
        {
            return false;
        }

        streamMaps[pid] = word;
        return true;
    }

    private static int? Type(int pid, V8Layout l, ulong tagged)
    {
        Span<byte> type = stackalloc byte[2];
        return Word(pid, tagged - 1 + (ulong)l.HeapObjectMap) is { } map && Libc.ReadProcessMemory(pid, map - 1 + (ulong)l.MapInstanceType, type)
            ? BinaryPrimitives.ReadUInt16LittleEndian(type)
            : null;
    }

    /// <summary>A heap object pointer at <paramref name="address"/> (tagged: low bit 1), or null.</summary>
    private static ulong? Word(int pid, ulong address)
    {
        Span<byte> value = stackalloc byte[8];
        if (!Libc.ReadProcessMemory(pid, address, value))
        {
            return null;
        }

        var v = BinaryPrimitives.ReadUInt64LittleEndian(value);
        return (v & 1) != 0 ? v : null;
    }

    /// <summary>A ByteArray's bytes (length a Smi at +8, data at +16), or null when unreadable or over <see cref="MaxTable"/>.</summary>
    private static byte[]? ReadArray(int pid, ulong array, int elementBytes)
    {
        Span<byte> length = stackalloc byte[8];
        if (!Libc.ReadProcessMemory(pid, array - 1 + ArrayLength, length))
        {
            return null;
        }

        var count = (long)(BinaryPrimitives.ReadUInt64LittleEndian(length) >> 32) * elementBytes;
        if (count is < 0 or > MaxTable)
        {
            return null;
        }

        var bytes = new byte[count];
        return Libc.ReadProcessMemory(pid, array - 1 + ArrayData, bytes) ? bytes : null;
    }
}
