using System.Buffers.Binary;

namespace Parca.Symbols.Elf;

/// <summary>
/// Collects function symbols from several sources (a .symtab, .dynsym, MiniDebugInfo, Go's pclntab) into one
/// <see cref="SymbolTable"/>. Where several symbols start at one address (aliases such as getpid/__getpid) the
/// choice follows elfutils, so names match eu-addr2line: a sized symbol beats an unsized one, then the higher ELF
/// binding wins (WEAK over GLOBAL over LOCAL), then the first one seen.
/// </summary>
internal sealed class SymbolTableBuilder
{
    private readonly List<Entry> _entries = [];
    private byte[] _strings = new byte[1024];
    private int _stringsLength;

    public int Count => _entries.Count;

    /// <summary>Appends a string table; returns the offset its first byte has in the combined table.</summary>
    public int AddStrings(ReadOnlySpan<byte> strings)
    {
        if (_stringsLength + strings.Length > _strings.Length)
        {
            Array.Resize(ref _strings, Math.Max(_strings.Length * 2, _stringsLength + strings.Length));
        }

        strings.CopyTo(_strings.AsSpan(_stringsLength));
        var offset = _stringsLength;
        _stringsLength += strings.Length;
        return offset;
    }

    /// <summary>Adds one symbol whose name starts at <paramref name="nameOffset"/> of the combined strings (NUL-terminated); <paramref name="binding"/> is STB_LOCAL 0, STB_GLOBAL 1 or STB_WEAK 2.</summary>
    public void Add(ulong start, ulong size, int nameOffset, int binding)
    {
        var bindingRank = binding switch { 1 => 2, 2 => 1, _ => 0 };
        _entries.Add(new Entry(start, size, nameOffset, (size > 0 ? 4 : 0) + bindingRank, _entries.Count));
    }

    /// <summary>Adds the FUNC and IFUNC symbols with an address from raw Elf64_Sym entries (24 bytes each) and their string table.</summary>
    public void AddElf(ReadOnlySpan<byte> symbols, ReadOnlySpan<byte> strtab)
    {
        var baseOffset = AddStrings(strtab);
        var count = symbols.Length / 24;
        for (var i = 0; i < count; i++)
        {
            var e = symbols.Slice(i * 24, 24);
            var name = BinaryPrimitives.ReadUInt32LittleEndian(e);
            var info = e[4];
            var shndx = BinaryPrimitives.ReadUInt16LittleEndian(e[6..]);
            var value = BinaryPrimitives.ReadUInt64LittleEndian(e[8..]);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(e[16..]);
            var kind = info & 0xf;
            var binding = info >> 4;
            if ((kind == 2 || kind == 10) && shndx != 0 && value != 0 && name < strtab.Length && binding <= 2)
            {
                Add(value, size, baseOffset + (int)name, binding);
            }
        }
    }

    public SymbolTable Build()
    {
        _entries.Sort(static (x, y) =>
            x.Start != y.Start ? x.Start.CompareTo(y.Start)
            : x.Rank != y.Rank ? y.Rank.CompareTo(x.Rank)
            : x.Sequence.CompareTo(y.Sequence));
        var starts = new List<ulong>(_entries.Count);
        var sizes = new List<ulong>(_entries.Count);
        var names = new List<int>(_entries.Count);
        foreach (var e in _entries)
        {
            if (starts.Count > 0 && starts[^1] == e.Start)
            {
                continue; // the best-ranked alias came first
            }

            starts.Add(e.Start);
            sizes.Add(e.Size);
            names.Add(e.Name);
        }

        return new SymbolTable([.. starts], [.. sizes], [.. names], _strings.AsSpan(0, _stringsLength).ToArray(), stripVersions: true);
    }

    private readonly record struct Entry(ulong Start, ulong Size, int Name, int Rank, int Sequence);
}
