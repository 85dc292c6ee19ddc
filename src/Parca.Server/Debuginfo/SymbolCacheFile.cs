using System.Buffers.Binary;
using System.Text;
using Parca.Symbols.Elf;
using Parca.Symbols.Symbolization;

namespace Parca.Server.Debuginfo;

/// <summary>
/// The per-(build id, address) answers of one build id on disk (<c>&lt;storage-path&gt;/debuginfo-symbols/&lt;id&gt;</c>),
/// so a restarted server names known addresses without opening (or downloading) the debug file again. Layout, little
/// endian: magic "PSY1", the file's program header count (u16) and headers (type u32, flags u32, offset, vaddr,
/// filesz, memsz u64: enough to normalize addresses without the file), then records appended as answers are found:
/// body length (u32), pc (u64), frame count (u8), per frame name, system name, file (u16 length + UTF-8) and line
/// (i64). A record cut short by a crash ends the file: reading stops there and the next append truncates it.
/// </summary>
internal static class SymbolCacheFile
{
    private const uint Magic = 0x31595350; // "PSY1"
    private const int MaxFileBytes = 256 << 20;
    private const int MaxRecordBytes = 1 << 20;

    /// <summary>Reads a cache file; null when absent or not one. Stops at the first incomplete or malformed record.</summary>
    public static (ProgramHeader[] Headers, List<(ulong Pc, SymbolizedFrame[] Frames)> Records, long ValidLength)? Read(string path)
    {
        byte[] data;
        try
        {
            if (!File.Exists(path) || new FileInfo(path).Length > MaxFileBytes)
            {
                return null;
            }

            data = File.ReadAllBytes(path);
        }
        catch (IOException)
        {
            return null;
        }

        var span = data.AsSpan();
        if (span.Length < 6 || BinaryPrimitives.ReadUInt32LittleEndian(span) != Magic)
        {
            return null;
        }

        int count = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
        var at = 6;
        if (span.Length < at + (count * 40))
        {
            return null;
        }

        var headers = new ProgramHeader[count];
        for (var i = 0; i < count; i++, at += 40)
        {
            var h = span[at..];
            headers[i] = new ProgramHeader(
                BinaryPrimitives.ReadUInt32LittleEndian(h), BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[8..]), BinaryPrimitives.ReadUInt64LittleEndian(h[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(h[24..]), BinaryPrimitives.ReadUInt64LittleEndian(h[32..]));
        }

        var records = new List<(ulong, SymbolizedFrame[])>();
        var strings = new Dictionary<string, string>(StringComparer.Ordinal); // names repeat across addresses: one copy each
        while (at + 4 <= span.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(span[at..]);
            if (length < 9 || length > MaxRecordBytes || at + 4 + length > span.Length || !TryRecord(span.Slice(at + 4, length), strings, out var record))
            {
                break;
            }

            records.Add(record);
            at += 4 + length;
        }

        return (headers, records, at);
    }

    /// <summary>Appends records (creating the file with the headers first); a torn tail from a crash is cut off first.</summary>
    public static void Append(string path, IReadOnlyList<ProgramHeader> headers, IEnumerable<(ulong Pc, SymbolizedFrame[] Frames)> records, long validLength)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 1 << 16);
        if (file.Length > MaxFileBytes)
        {
            return;
        }

        using var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true);
        if (validLength <= 0 || file.Length < validLength)
        {
            file.SetLength(0);
            w.Write(Magic);
            w.Write((ushort)Math.Min(headers.Count, ushort.MaxValue));
            foreach (var h in headers.Take(ushort.MaxValue))
            {
                w.Write(h.Type);
                w.Write(h.Flags);
                w.Write(h.Offset);
                w.Write(h.VirtualAddress);
                w.Write(h.FileSize);
                w.Write(h.MemorySize);
            }
        }
        else
        {
            file.SetLength(validLength);
            file.Position = validLength;
        }

        var body = new MemoryStream();
        using var b = new BinaryWriter(body, Encoding.UTF8);
        foreach (var (pc, frames) in records)
        {
            body.SetLength(0);
            b.Write(pc);
            b.Write((byte)Math.Min(frames.Length, byte.MaxValue));
            foreach (var f in frames.Take(byte.MaxValue))
            {
                WriteString(b, f.Name);
                WriteString(b, f.SystemName);
                WriteString(b, f.File);
                b.Write(f.Line);
            }

            b.Flush();
            if (body.Length > MaxRecordBytes)
            {
                continue;
            }

            w.Write((int)body.Length);
            w.Write(body.GetBuffer(), 0, (int)body.Length);
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s.Length > 16384 ? s[..16384] : s);
        w.Write((ushort)bytes.Length);
        w.Write(bytes);
    }

    private static bool TryRecord(ReadOnlySpan<byte> r, Dictionary<string, string> strings, out (ulong Pc, SymbolizedFrame[] Frames) record)
    {
        record = default;
        var pc = BinaryPrimitives.ReadUInt64LittleEndian(r);
        int n = r[8];
        var at = 9;
        var frames = new SymbolizedFrame[n];
        for (var i = 0; i < n; i++)
        {
            if (!TryString(r, ref at, strings, out var name) || !TryString(r, ref at, strings, out var system) || !TryString(r, ref at, strings, out var file) || at + 8 > r.Length)
            {
                return false;
            }

            frames[i] = new SymbolizedFrame(name, system, file, BinaryPrimitives.ReadInt64LittleEndian(r[at..]));
            at += 8;
        }

        record = (pc, frames);
        return at == r.Length;
    }

    private static bool TryString(ReadOnlySpan<byte> r, ref int at, Dictionary<string, string> strings, out string s)
    {
        s = "";
        if (at + 2 > r.Length)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadUInt16LittleEndian(r[at..]);
        if (at + 2 + length > r.Length)
        {
            return false;
        }

        s = Encoding.UTF8.GetString(r.Slice(at + 2, length));
        if (!strings.TryAdd(s, s))
        {
            s = strings[s];
        }

        at += 2 + length;
        return true;
    }
}
