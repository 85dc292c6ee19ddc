using System.Buffers.Binary;
using System.Text;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>
/// The fields of a code object's header that tell it from another object later allocated at its address: the first
/// line and the addresses of its name, file and line table objects (which a new code object gets anew).
/// </summary>
internal readonly record struct PythonCodeHeader(int FirstLine, ulong Name, ulong File, ulong LineTable);

/// <summary>What a code object names: its (qualified) function name, file, first line and line table.</summary>
internal sealed record PythonCode(string Name, string File, int FirstLine, byte[] LineTable, PythonLineFormat Format, PythonCodeHeader Header)
    : InterpretedCode(Name, File, FirstLine)
{
    public override int Bytes => 64 + (2 * (Name.Length + File.Length)) + LineTable.Length;

    public int Line(int instruction) => PythonLineTable.Line(Format, LineTable, FirstLine, instruction);

    public override int LineOf(ulong tag) => Line(InterpreterFrames.Instruction(tag));
}

/// <summary>
/// Reads a code object out of a live process (process_vm_readv): the header with the layout's offsets, the name and
/// file strings (compact PyUnicode: ASCII, Latin-1, UCS-2 or UCS-4 data right behind the header) and the line table
/// bytes. Everything is bounded (strings 1 024 characters, tables 1 MiB) and checked, because the memory can change
/// under the reader. The BPF walker reads no fingerprint of the code object (that was one more read per frame at
/// sample time): <see cref="IsSame"/> re-reads the header when the symbol cache checks an entry (once per window).
/// </summary>
internal static class PythonCodeReader
{
    private const int MaxStringChars = 1024;
    private const int MaxTableBytes = 1 << 20;

    public static PythonCode? Read(int pid, PythonLayout layout, ulong code)
    {
        if (ReadHeader(pid, layout, code) is not { } header)
        {
            return null;
        }

        var name = ReadString(pid, layout, header.Name);
        var file = ReadString(pid, layout, header.File);
        var table = ReadBytes(pid, header.LineTable);
        if (name is null || file is null)
        {
            return null;
        }

        return new PythonCode(name, file, header.FirstLine, table ?? [], layout.LineFormat, header);
    }

    /// <summary>
    /// False when <paramref name="address"/> now holds something other than <paramref name="code"/> (a new code
    /// object, or any other object); true when it still holds it or cannot be read (an exited process reuses nothing).
    /// </summary>
    public static bool IsSame(int pid, PythonLayout layout, ulong address, PythonCode code) =>
        ReadHeader(pid, layout, address) is not { } header || header == code.Header;

    private static PythonCodeHeader? ReadHeader(int pid, PythonLayout layout, ulong code)
    {
        var headerBytes = Math.Max(Math.Max(layout.CodeFilename, layout.CodeName), Math.Max(layout.CodeLineTable, layout.CodeFirstLine)) + 8;
        Span<byte> header = stackalloc byte[headerBytes];
        if (!Libc.ReadProcessMemory(pid, code, header))
        {
            return null;
        }

        return new PythonCodeHeader(
            BinaryPrimitives.ReadInt32LittleEndian(header[layout.CodeFirstLine..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[layout.CodeName..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[layout.CodeFilename..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[layout.CodeLineTable..]));
    }

    /// <summary>A compact str object's text, or null when it is not one (or unreadable).</summary>
    private static string? ReadString(int pid, PythonLayout layout, ulong address)
    {
        Span<byte> header = stackalloc byte[40];
        if (address == 0 || !Libc.ReadProcessMemory(pid, address, header))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt64LittleEndian(header[16..]); // PyASCIIObject.length
        var state = BinaryPrimitives.ReadUInt32LittleEndian(header[32..]); // PyASCIIObject.state bit field
        var kind = (int)((state >> 2) & 7);
        var compact = ((state >> 5) & 1) != 0;
        var ascii = ((state >> 6) & 1) != 0;
        if (!compact || length < 0 || kind is not (1 or 2 or 4))
        {
            return null;
        }

        var chars = (int)Math.Min(length, MaxStringChars);
        var data = address + (ascii ? layout.AsciiHeader : layout.CompactHeader);
        var bytes = new byte[chars * kind];
        if (!Libc.ReadProcessMemory(pid, data, bytes))
        {
            return null;
        }

        return kind switch
        {
            1 => ascii ? Encoding.ASCII.GetString(bytes) : Encoding.Latin1.GetString(bytes),
            2 => Encoding.Unicode.GetString(bytes),
            _ => Encoding.UTF32.GetString(bytes),
        };
    }

    /// <summary>A bytes object's contents (PyBytesObject: ob_size at 16, ob_sval at 32 in every version here).</summary>
    private static byte[]? ReadBytes(int pid, ulong address)
    {
        Span<byte> header = stackalloc byte[24];
        if (address == 0 || !Libc.ReadProcessMemory(pid, address, header))
        {
            return null;
        }

        var size = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        if (size is < 0 or > MaxTableBytes)
        {
            return null;
        }

        var bytes = new byte[size];
        return Libc.ReadProcessMemory(pid, address + 32, bytes) ? bytes : null;
    }
}
