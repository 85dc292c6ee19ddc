using System.Buffers.Binary;
using System.Text;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>
/// A JavaScript function (a V8 SharedFunctionInfo): its name, script and first line. <see cref="NameOrScopeInfo"/>
/// is the SharedFunctionInfo's field as read: the once-per-window check that the address still holds this function.
/// </summary>
internal sealed record V8Code(string Name, string File, int FirstLine, ulong NameOrScopeInfo) : InterpretedCode(Name, File, FirstLine)
{
    public override int Bytes => 64 + (2 * (Name.Length + File.Length));

    /// <summary>The walker reads no position within the function: its first line stands for it.</summary>
    public override int LineOf(ulong tag) => FirstLine;
}

/// <summary>
/// Names V8 functions out of a live process (process_vm_readv) with the process's <see cref="V8Layout"/>. Objects are
/// tagged pointers (address + 1) to a map word whose Map gives the instance type; every object read is checked to be
/// of the expected type, so a stale or wrong address gives null rather than a wrong name. The name is the ScopeInfo's
/// function-variable name or else its inferred name (<c>obj.method = function () {}</c>); the first line is the
/// ScopeInfo's start position counted in the script's source. Strings are read to <see cref="MaxString"/> characters
/// (sequential, cons and thin strings; a sliced string reads as empty), sources to <see cref="MaxSource"/> characters.
/// </summary>
internal static class V8CodeReader
{
    private const int MaxString = 1024;
    private const int MaxSource = 4 << 20;
    private const int MaxConsDepth = 8;
    private const int ScopeSlots = 16;

    public static V8Code? Read(int pid, V8Layout l, ulong shared)
    {
        if (Type(pid, l, shared) != l.SharedFunctionInfoType || Field(pid, shared, l.SharedNameOrScopeInfo) is not { } nameOrScope)
        {
            return null;
        }

        var name = "";
        var start = -1;
        var type = Type(pid, l, nameOrScope);
        if (type == l.ScopeInfoType)
        {
            (name, start) = ReadScopeInfo(pid, l, nameOrScope);
        }
        else if (type is { } t && t < l.FirstNonstringType)
        {
            name = ReadString(pid, l, nameOrScope, MaxString) ?? "";
        }

        var file = "";
        var line = 0;
        if (Field(pid, shared, l.SharedScriptOrDebugInfo) is { } script && Type(pid, l, script) == l.ScriptType)
        {
            file = Field(pid, script, l.ScriptName) is { } fileName ? ReadString(pid, l, fileName, MaxString) ?? "" : "";
            if (start >= 0 && Field(pid, script, l.ScriptSource) is { } source)
            {
                line = LineAt(pid, l, source, start);
            }
        }

        return new V8Code(name.Length == 0 ? "(anonymous)" : name, file, line, nameOrScope);
    }

    /// <summary>
    /// True while <paramref name="shared"/> still holds the function <paramref name="code"/> was read from, or when
    /// the process can no longer be read (it exited: its last window's frames keep their names).
    /// </summary>
    public static bool IsSame(int pid, V8Layout l, ulong shared, V8Code code)
    {
        Span<byte> probe = stackalloc byte[8];
        if (!Libc.ReadProcessMemory(pid, shared - 1, probe))
        {
            return true;
        }

        return Type(pid, l, shared) == l.SharedFunctionInfoType && Field(pid, shared, l.SharedNameOrScopeInfo) == code.NameOrScopeInfo;
    }

    /// <summary>
    /// The function's name and start position from its ScopeInfo (V8 11, scope-info.tq): flags, parameter count,
    /// context local count, the locals' names (or one hash table) and infos, then the optional saved class variable,
    /// function variable (name, slot), inferred name, and the position (start, end) of a function scope.
    /// </summary>
    private static (string Name, int Start) ReadScopeInfo(int pid, V8Layout l, ulong scopeInfo)
    {
        Span<byte> head = stackalloc byte[8 * ScopeSlots];
        if (!Libc.ReadProcessMemory(pid, scopeInfo - 1 + 8, head[..24]))
        {
            return ("", -1);
        }

        // Slots are counted from the first field after the map (ScopeInfo's flags: slot 0).
        var flags = Smi(head, 0);
        var locals = Smi(head, l.ScopeInfoContextLocals);
        if (flags is not { } f || locals is not ({ } n and >= 0 and < 1 << 20))
        {
            return ("", -1);
        }

        long slot = l.ScopeInfoFirstVars + (n < l.MaxInlinedLocalNames ? n : 1) + n;
        if (((f >> l.SavedClassVariableBit) & 1) != 0)
        {
            slot++;
        }

        if (!Libc.ReadProcessMemory(pid, scopeInfo - 1 + 8 + (ulong)(slot * 8), head))
        {
            return ("", -1);
        }

        var at = 0;
        string? name = null;
        if (((f >> l.FunctionVariableShift) & 3) != 0)
        {
            name = StringAt(pid, l, head, at);
            at += 2;
        }

        if (((f >> l.InferredNameBit) & 1) != 0)
        {
            if (string.IsNullOrEmpty(name))
            {
                name = StringAt(pid, l, head, at);
            }

            at++;
        }

        var start = Smi(head, at) is { } s && Smi(head, at + 1) is { } e && s >= 0 && e >= s ? (int)s : -1;
        return (name ?? "", start);
    }

    private static string? StringAt(int pid, V8Layout l, ReadOnlySpan<byte> slots, int index)
    {
        var value = BinaryPrimitives.ReadUInt64LittleEndian(slots[(index * 8)..]);
        return (value & 1) != 0 && Type(pid, l, value) is { } t && t < l.FirstNonstringType ? ReadString(pid, l, value, MaxString) : null;
    }

    /// <summary>A Smi's value (no pointer compression: the upper 32 bits), or null for a heap object.</summary>
    private static long? Smi(ReadOnlySpan<byte> slots, int index)
    {
        var value = BinaryPrimitives.ReadUInt64LittleEndian(slots[(index * 8)..]);
        return (value & 1) == 0 ? (int)(value >> 32) : null;
    }

    /// <summary>The 1-based line of character <paramref name="position"/> of the script's source (0 when unreadable, e.g. node's own modules, whose sources are external strings).</summary>
    private static int LineAt(int pid, V8Layout l, ulong source, int position)
    {
        if (position > MaxSource)
        {
            return 0;
        }

        var text = ReadString(pid, l, source, position);
        if (text is null || text.Length < position)
        {
            return 0;
        }

        var line = 1;
        foreach (var c in text.AsSpan())
        {
            if (c == '\n')
            {
                line++;
            }
        }

        return line;
    }

    /// <summary>The first <paramref name="max"/> characters of a V8 string, or null when it is not one.</summary>
    private static string? ReadString(int pid, V8Layout l, ulong str, int max, int depth = 0)
    {
        if (depth > MaxConsDepth || Type(pid, l, str) is not { } type || type >= l.FirstNonstringType)
        {
            return null;
        }

        Span<byte> lengthBytes = stackalloc byte[4];
        if (!Libc.ReadProcessMemory(pid, str - 1 + (ulong)l.StringLength, lengthBytes))
        {
            return null;
        }

        var length = Math.Min(BinaryPrimitives.ReadInt32LittleEndian(lengthBytes), max);
        if (length < 0)
        {
            return null;
        }

        var representation = type & l.StringRepresentationMask;
        if (representation == l.ConsStringTag)
        {
            var first = Field(pid, str, l.ConsFirst) is { } a ? ReadString(pid, l, a, length, depth + 1) : null;
            if (first is null || first.Length >= length)
            {
                return first;
            }

            var second = Field(pid, str, l.ConsSecond) is { } b ? ReadString(pid, l, b, length - first.Length, depth + 1) : null;
            return second is null ? null : first + second;
        }

        if (representation == l.ThinStringTag)
        {
            return Field(pid, str, l.ThinActual) is { } actual ? ReadString(pid, l, actual, max, depth + 1) : null;
        }

        if (representation != l.SeqStringTag)
        {
            return ""; // sliced or external: not read
        }

        var oneByte = (type & l.StringEncodingMask) == l.OneByteStringTag;
        var bytes = new byte[oneByte ? length : 2 * length];
        return Libc.ReadProcessMemory(pid, str - 1 + (ulong)(oneByte ? l.SeqOneByteChars : l.SeqTwoByteChars), bytes)
            ? (oneByte ? Encoding.Latin1.GetString(bytes) : Encoding.Unicode.GetString(bytes))
            : null;
    }

    /// <summary>The instance type of the heap object at tagged pointer <paramref name="tagged"/>, or null.</summary>
    private static int? Type(int pid, V8Layout l, ulong tagged)
    {
        if ((tagged & 1) == 0 || Field(pid, tagged, l.HeapObjectMap) is not { } map)
        {
            return null;
        }

        Span<byte> type = stackalloc byte[2];
        return Libc.ReadProcessMemory(pid, map - 1 + (ulong)l.MapInstanceType, type) ? BinaryPrimitives.ReadUInt16LittleEndian(type) : null;
    }

    /// <summary>A tagged field of the object at <paramref name="tagged"/> that holds a heap object, or null.</summary>
    private static ulong? Field(int pid, ulong tagged, int offset)
    {
        Span<byte> value = stackalloc byte[8];
        if (!Libc.ReadProcessMemory(pid, tagged - 1 + (ulong)offset, value))
        {
            return null;
        }

        var v = BinaryPrimitives.ReadUInt64LittleEndian(value);
        return (v & 1) != 0 ? v : null;
    }
}
