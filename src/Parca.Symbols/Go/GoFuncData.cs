using System.Buffers.Binary;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Go;

/// <summary>
/// Where moduledata.gofunc may be (the base the function table's funcdata offsets, and so the inline trees, are
/// relative to) and the bytes those offsets reach, found in a stripped Go binary without symbols. The runtime's
/// firstmoduledata is found by its first two words, the addresses of .gopclntab and of its name table, in a data
/// section (<c>.go.module</c> with newer linkers). Which later word is gofunc depends on the Go version (the 39th in
/// 1.18/1.19, the 41st in 1.20–1.2x after the coverage counter bounds, the 44th in Go 1.27), so every word that
/// points into a kept section is a candidate, the version's known position first; <see cref="GoLineTable"/> keeps
/// the first under which sampled inline-tree records decode (names in the name table, call-site offsets sane). The
/// trees sit in .rodata (Go 1.18–1.2x) or .gopclntab (1.27), so those sections are kept. Position-independent Go
/// binaries keep the module data's pointers as relocations (zero in the file): they get file and line but no
/// inlined frames.
/// </summary>
internal sealed class GoFuncData
{
    private const long MaxSectionBytes = 512L << 20;
    private const uint ShtNobits = 8;
    private static readonly string[] s_dataSections = [".rodata", ".noptrdata", ".data.rel.ro", ".go.func", ".go.module", ".data"];

    private readonly (ulong Address, byte[] Bytes)[] _segments;

    private GoFuncData(IReadOnlyList<ulong> candidates, (ulong, byte[])[] segments)
    {
        Candidates = candidates;
        _segments = segments;
    }

    /// <summary>Possible gofunc addresses, most likely first.</summary>
    public IReadOnlyList<ulong> Candidates { get; }

    /// <summary>Bytes held (the sections kept for funcdata; .gopclntab is shared with the line table).</summary>
    public long Bytes => _segments.Skip(1).Sum(s => (long)s.Bytes.Length);

    /// <summary>The <paramref name="size"/> bytes at virtual address <paramref name="address"/>, when a kept section has them.</summary>
    public bool TryRead(ulong address, int size, out ReadOnlySpan<byte> bytes)
    {
        foreach (var (start, data) in _segments)
        {
            if (address >= start && address - start <= (ulong)data.Length && (ulong)data.Length - (address - start) >= (ulong)size)
            {
                bytes = data.AsSpan((int)(address - start), size);
                return true;
            }
        }

        bytes = default;
        return false;
    }

    /// <summary>Finds the module data's gofunc candidates; null when there is none. Never throws for bad data.</summary>
    public static GoFuncData? Find(ElfFile elf, ElfSource source, byte[] pclntab, string nameForErrors)
    {
        var pclntabSection = elf.Sections.FirstOrDefault(s => s.Name == ".gopclntab");
        if (pclntabSection is null || pclntabSection.Address == 0 || !PclntabHeader.IsKnown(pclntab))
        {
            return null;
        }

        PclntabHeader header;
        try
        {
            header = PclntabHeader.Parse(pclntab, nameForErrors);
        }
        catch (InvalidDataException)
        {
            return null;
        }

        if (!header.Modern)
        {
            return null;
        }

        var segments = new List<(ulong Address, byte[] Bytes)> { (pclntabSection.Address, pclntab) };
        foreach (var name in s_dataSections)
        {
            var section = elf.Sections.FirstOrDefault(s => s.Name == name && s.Type != ShtNobits && s.Size > 0 && s.Address != 0);
            try
            {
                if (section is not null && elf.ReadSection(source, nameForErrors, name, MaxSectionBytes) is { } bytes)
                {
                    segments.Add((section.Address, bytes));
                }
            }
            catch (InvalidDataException)
            {
                // an unreadable section only costs the inline frames it would have held
            }
        }

        var known = header.Go120OrLater ? 40 : 38;
        var first = pclntabSection.Address;
        var second = first + header.FuncnameOffset;
        foreach (var (_, data) in segments.Skip(1))
        {
            for (var i = 0; i + (64 * 8) <= data.Length; i += 8)
            {
                if (BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(i)) != first
                    || BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(i + 8)) != second)
                {
                    continue;
                }

                var candidates = new List<ulong>();
                foreach (var word in (int[])[known, .. Enumerable.Range(32, 32).Where(w => w != known)])
                {
                    var value = BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(i + (word * 8)));
                    if (!candidates.Contains(value) && segments.Exists(s => value >= s.Address && value - s.Address < (ulong)s.Bytes.Length))
                    {
                        candidates.Add(value);
                    }
                }

                return candidates.Count == 0 ? null : new GoFuncData(candidates, [.. segments]);
            }
        }

        return null;
    }
}
