using System.Buffers.Binary;
using System.Text;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>A Ruby instruction sequence: its label (method, block or &lt;main&gt;), path, first line and line table.</summary>
internal sealed record RubyCode(string Name, string File, int FirstLine, RubyLineTable Lines) : InterpretedCode(Name, File, FirstLine)
{
    public override int Bytes => 64 + (2 * (Name.Length + File.Length)) + Lines.Bytes;

    /// <summary>
    /// The tag holds the pc's instruction index + 1. The pc has usually moved past the instruction it runs, so the
    /// line is that of the instruction before it, as Ruby's own backtraces compute it (vm_backtrace.c calc_pos).
    /// </summary>
    public override int LineOf(ulong tag)
    {
        var instruction = InterpreterFrames.Instruction(tag);
        return instruction < 0 ? FirstLine : Lines.LineAt(Math.Max(instruction - 1, 0)) ?? FirstLine;
    }
}

/// <summary>
/// Names Ruby frames out of a live process (process_vm_readv) with the layout's offsets: the iseq's body gives its
/// label, path (a String, or an Array whose first element is the path), first line and line table. Strings are
/// bounded (1 024 bytes) and object types checked, because the memory can change under the reader.
/// </summary>
internal static class RubyCodeReader
{
    private const int MaxString = 1024;
    private const ulong TypeMask = 0x1f;
    private const ulong TypeString = 5; // RUBY_T_STRING
    private const ulong TypeArray = 7;  // RUBY_T_ARRAY

    /// <summary>The iseq at <paramref name="iseq"/>, or null when unreadable or no longer of <paramref name="iseqSize"/> instructions (reused memory).</summary>
    public static RubyCode? Read(int pid, RubyLayout l, ulong iseq, uint iseqSize)
    {
        var bodyAddress = ReadU64(pid, iseq + l.IseqBody) ?? 0;
        if (bodyAddress == 0)
        {
            return null;
        }

        var body = new byte[l.BodyRead];
        if (!Libc.ReadProcessMemory(pid, bodyAddress, body) || BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(l.BodyIseqSize)) != iseqSize)
        {
            return null;
        }

        var label = ReadString(pid, l, BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(l.BodyLabel)));
        if (label is null)
        {
            return null;
        }

        var path = ReadPath(pid, l, BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(l.BodyPath))) ?? "";
        var firstLine = (int)((long)BinaryPrimitives.ReadUInt64LittleEndian(body.AsSpan(l.BodyFirstLine)) >> 1); // a Fixnum
        return new RubyCode(label, path, firstLine, RubyLineTable.Read(pid, l, body, iseqSize));
    }

    /// <summary>location.pathobj: the path String, or [path, realpath].</summary>
    private static string? ReadPath(int pid, RubyLayout l, ulong value)
    {
        if (ReadFlags(pid, value) is not { } flags)
        {
            return null;
        }

        if ((flags & TypeMask) == TypeString)
        {
            return ReadString(pid, l, value);
        }

        if ((flags & TypeMask) != TypeArray)
        {
            return null;
        }

        var first = (flags & l.ArrayEmbedFlag) != 0 ? ReadU64(pid, value + (ulong)l.ArrayEmbedded)
            : ReadU64(pid, value + (ulong)l.ArrayPointer) is { } items and not 0 ? ReadU64(pid, items) : null;
        return first is { } path ? ReadString(pid, l, path) : null;
    }

    /// <summary>A String object's bytes (embedded in the object, or on the heap).</summary>
    private static string? ReadString(int pid, RubyLayout l, ulong value)
    {
        Span<byte> head = stackalloc byte[Math.Max(l.StringLength, l.StringPointer) + 8];
        if (value == 0 || (value & 7) != 0 || !Libc.ReadProcessMemory(pid, value, head))
        {
            return null; // not a heap object (a special constant) or unreadable
        }

        var flags = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if ((flags & TypeMask) != TypeString)
        {
            return null;
        }

        long length;
        ulong bytesAt;
        if ((flags & l.StringNoEmbedFlag) != 0)
        {
            length = BinaryPrimitives.ReadInt64LittleEndian(head[l.StringLength..]);
            bytesAt = BinaryPrimitives.ReadUInt64LittleEndian(head[l.StringPointer..]);
        }
        else
        {
            length = (long)((flags & l.StringEmbedLengthMask) >> l.StringEmbedLengthShift);
            bytesAt = value + (ulong)l.StringEmbedded;
        }

        if (length is < 0 or > MaxString)
        {
            return null;
        }

        var bytes = new byte[length];
        return Libc.ReadProcessMemory(pid, bytesAt, bytes) ? Encoding.UTF8.GetString(bytes) : null;
    }

    private static ulong? ReadFlags(int pid, ulong value) => value == 0 || (value & 7) != 0 ? null : ReadU64(pid, value);

    internal static ulong? ReadU64(int pid, ulong address)
    {
        Span<byte> word = stackalloc byte[8];
        return address != 0 && Libc.ReadProcessMemory(pid, address, word) ? BinaryPrimitives.ReadUInt64LittleEndian(word) : null;
    }
}
