using System.Buffers.Binary;
using System.Text;
using Parca.Agent.Interop;

namespace Parca.Agent.Interpreters;

/// <summary>A Perl frame's function: a sub's package-qualified name and file, "(eval)" or the main program.</summary>
internal sealed record PerlCode(string Name, string File) : InterpretedCode(Name, File, 0)
{
    public override int Bytes => 64 + (2 * (Name.Length + File.Length));

    /// <summary>The walker put the running statement's line (COP.cop_line) in the tag's low word.</summary>
    public override int LineOf(ulong tag) => (int)(uint)tag;
}

/// <summary>
/// Names Perl frames out of a live process (process_vm_readv), with the layout's offsets: a sub's CV gives its name
/// (the GV's name and its stash's name, or for a lexical sub the CV's own name and CvSTASH) and CvFILE; an eval's or
/// the main program's word is the statement's file name. Strings are bounded (1 024 bytes) and every pointer is
/// checked, because the memory can change under the reader.
/// </summary>
internal static class PerlCodeReader
{
    private const int MaxString = 1024;

    public static PerlCode? Read(int pid, PerlLayout layout, ulong address, uint kind) => kind switch
    {
        InterpreterFrames.PerlSub => ReadSub(pid, layout, address),
        InterpreterFrames.PerlEval => new PerlCode("(eval)", ReadCString(pid, address) ?? ""),
        InterpreterFrames.PerlMain => new PerlCode("<main>", ReadCString(pid, address) ?? ""),
        _ => null,
    };

    private static PerlCode? ReadSub(int pid, PerlLayout l, ulong cv)
    {
        if (Body(pid, cv) is not { } body)
        {
            return null;
        }

        Span<byte> xcv = stackalloc byte[l.CvFlags + 4];
        if (!Libc.ReadProcessMemory(pid, body, xcv))
        {
            return null;
        }

        var flags = BinaryPrimitives.ReadUInt32LittleEndian(xcv[l.CvFlags..]);
        var gvOrHek = BinaryPrimitives.ReadUInt64LittleEndian(xcv[l.CvGvOrHek..]);
        var file = ReadCString(pid, BinaryPrimitives.ReadUInt64LittleEndian(xcv[l.CvFile..])) ?? "";
        string? name, package;
        if ((flags & l.CvNamedFlag) != 0)
        {
            name = ReadHek(pid, l, gvOrHek);
            package = StashName(pid, l, BinaryPrimitives.ReadUInt64LittleEndian(xcv[l.CvStash..]));
        }
        else
        {
            if (Body(pid, gvOrHek) is not { } gv)
            {
                return null;
            }

            Span<byte> xgv = stackalloc byte[Math.Max(l.GvNameHek, l.GvStash) + 8];
            if (!Libc.ReadProcessMemory(pid, gv, xgv))
            {
                return null;
            }

            name = ReadHek(pid, l, BinaryPrimitives.ReadUInt64LittleEndian(xgv[l.GvNameHek..]));
            package = StashName(pid, l, BinaryPrimitives.ReadUInt64LittleEndian(xgv[l.GvStash..]));
        }

        return name is null ? null : new PerlCode(package is null ? name : $"{package}::{name}", file);
    }

    /// <summary>An SV's body (SvANY), or null.</summary>
    private static ulong? Body(int pid, ulong sv)
    {
        Span<byte> head = stackalloc byte[8];
        if (sv == 0 || !Libc.ReadProcessMemory(pid, sv, head))
        {
            return null;
        }

        var body = BinaryPrimitives.ReadUInt64LittleEndian(head);
        return body == 0 ? null : body;
    }

    /// <summary>A stash's (package's) name: HvNAME through the HV's aux part, present when SvOOK.</summary>
    private static string? StashName(int pid, PerlLayout l, ulong hv)
    {
        Span<byte> head = stackalloc byte[l.SvFlags + 4];
        if (hv == 0 || !Libc.ReadProcessMemory(pid, hv, head))
        {
            return null;
        }

        var body = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if ((BinaryPrimitives.ReadUInt32LittleEndian(head[l.SvFlags..]) & l.SvOokFlag) == 0 || body == 0)
        {
            return null;
        }

        Span<byte> aux = stackalloc byte[l.HvAuxNameCount + 4];
        if (!Libc.ReadProcessMemory(pid, body + (ulong)l.HvAux, aux))
        {
            return null;
        }

        var name = BinaryPrimitives.ReadUInt64LittleEndian(aux[l.HvAuxName..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(aux[l.HvAuxNameCount..]) != 0)
        {
            // HEK **: the first is the name (hv.h HvNAME_HEK_NN)
            Span<byte> first = stackalloc byte[8];
            if (name == 0 || !Libc.ReadProcessMemory(pid, name, first))
            {
                return null;
            }

            name = BinaryPrimitives.ReadUInt64LittleEndian(first);
        }

        return ReadHek(pid, l, name);
    }

    /// <summary>A shared hash key's text (struct hek: hash, length, bytes).</summary>
    private static string? ReadHek(int pid, PerlLayout l, ulong hek)
    {
        Span<byte> head = stackalloc byte[l.HekKey];
        if (hek == 0 || !Libc.ReadProcessMemory(pid, hek, head))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(head[l.HekLength..]);
        if (length is < 0 or > MaxString)
        {
            return null;
        }

        var bytes = new byte[length];
        return Libc.ReadProcessMemory(pid, hek + (ulong)l.HekKey, bytes) ? Encoding.UTF8.GetString(bytes) : null;
    }

    /// <summary>A NUL-terminated string of at most <see cref="MaxString"/> bytes, read in pieces that stay inside pages.</summary>
    private static string? ReadCString(int pid, ulong address)
    {
        if (address == 0)
        {
            return null;
        }

        var buffer = new byte[MaxString];
        var done = 0;
        while (done < buffer.Length)
        {
            // never cross a page in one read: the string may end right before an unmapped page
            var at = address + (ulong)done;
            var chunk = (int)Math.Min((ulong)(buffer.Length - done), 4096 - (at & 4095));
            var span = buffer.AsSpan(done, chunk);
            if (!Libc.ReadProcessMemory(pid, at, span))
            {
                return null;
            }

            var end = span.IndexOf((byte)0);
            if (end >= 0)
            {
                return Encoding.UTF8.GetString(buffer, 0, done + end);
            }

            done += chunk;
        }

        return Encoding.UTF8.GetString(buffer);
    }
}
