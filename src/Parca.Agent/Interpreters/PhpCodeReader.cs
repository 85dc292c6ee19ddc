using System.Buffers.Binary;
using System.Text;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>A PHP user function: Class::method, function or &lt;main&gt; (the script), its file and first line.</summary>
internal sealed record PhpCode(string Name, string File, int FirstLine) : InterpretedCode(Name, File, FirstLine)
{
    public override int Bytes => 64 + (2 * (Name.Length + File.Length));

    /// <summary>The walker put the running opline's line in the tag's low word.</summary>
    public override int LineOf(ulong tag) => (int)(uint)tag;
}

/// <summary>
/// Names PHP frames out of a live process (process_vm_readv) with the layout's offsets: a zend_function's name, its
/// class's name, its op_array's file and first line. Strings are bounded (1 024 bytes).
/// </summary>
internal static class PhpCodeReader
{
    private const int MaxString = 1024;

    public static PhpCode? Read(int pid, PhpLayout l, ulong function)
    {
        var head = new byte[l.OpArrayLineStart + 4];
        if (function == 0 || !Libc.ReadProcessMemory(pid, function, head))
        {
            return null;
        }

        var nameAt = BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(l.FunctionName));
        var scope = BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(l.FunctionScope));
        var file = ReadString(pid, l, BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(l.OpArrayFilename))) ?? "";
        var firstLine = (int)BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(l.OpArrayLineStart));
        if (nameAt == 0)
        {
            return new PhpCode("<main>", file, firstLine);
        }

        var name = ReadString(pid, l, nameAt);
        if (name is null)
        {
            return null;
        }

        var className = scope != 0 && RubyCodeReader.ReadU64(pid, scope + (ulong)l.ClassName) is { } classNameAt ? ReadString(pid, l, classNameAt) : null;
        return new PhpCode(className is null ? name : $"{className}::{name}", file, firstLine);
    }

    /// <summary>A zend_string's bytes (length, then the bytes inline).</summary>
    private static string? ReadString(int pid, PhpLayout l, ulong address)
    {
        Span<byte> head = stackalloc byte[l.StringValue];
        if (address == 0 || !Libc.ReadProcessMemory(pid, address, head))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt64LittleEndian(head[l.StringLength..]);
        if (length is < 0 or > MaxString)
        {
            return null;
        }

        var bytes = new byte[length];
        return Libc.ReadProcessMemory(pid, address + (ulong)l.StringValue, bytes) ? Encoding.UTF8.GetString(bytes) : null;
    }
}
