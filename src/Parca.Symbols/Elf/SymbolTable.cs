using System.Text;

namespace Parca.Symbols.Elf;

/// <summary>
/// Function symbols sorted by address for binary search. Names stay as offsets into the string table until looked
/// up, so a large .symtab costs two arrays and its string bytes, not one string object per symbol.
/// </summary>
public sealed class SymbolTable
{
    private readonly ulong[] _starts;
    private readonly ulong[] _sizes;
    private readonly int[] _nameOffsets;
    private readonly byte[] _strings;

    // Names decoded on first lookup and kept, so a hot frame costs a binary search and no allocation.
    private readonly string?[] _names;

    // ELF tables: "dladdr@@GLIBC_2.34" (how newer toolchains spell versioned names in .symtab) is shown as "dladdr".
    private readonly bool _stripVersions;

    internal SymbolTable(ulong[] starts, ulong[] sizes, int[] nameOffsets, byte[] strings, bool stripVersions = false)
    {
        _stripVersions = stripVersions;
        _starts = starts;
        _sizes = sizes;
        _nameOffsets = nameOffsets;
        _strings = strings;
        _names = new string?[starts.Length];
    }

    public static SymbolTable Empty { get; } = new([], [], [], []);

    public int Count => _starts.Length;

    /// <summary>Approximate memory held (address, size and name-offset arrays plus the string bytes), for caches with a byte budget.</summary>
    public long ApproximateBytes => (_starts.Length * 28L) + _strings.Length;

    /// <summary>Builds from raw Elf64_Sym entries (24 bytes each) and their string table; keeps FUNC and IFUNC symbols with an address.</summary>
    internal static SymbolTable FromElf(ReadOnlySpan<byte> symbols, byte[] strtab)
    {
        var builder = new SymbolTableBuilder();
        builder.AddElf(symbols, strtab);
        return builder.Build();
    }

    /// <summary>Builds from (start, size, name) triples, e.g. a perf map or kallsyms.</summary>
    public static SymbolTable FromEntries(IEnumerable<(ulong Start, ulong Size, string Name)> entries)
    {
        var strings = new MemoryStream();
        var list = new List<(ulong, ulong, int)>();
        foreach (var (start, size, name) in entries)
        {
            list.Add((start, size, (int)strings.Length));
            var bytes = Encoding.UTF8.GetBytes(name);
            strings.Write(bytes);
            strings.WriteByte(0);
        }

        return Build(list, strings.ToArray());
    }

    private static SymbolTable Build(List<(ulong Start, ulong Size, int Name)> entries, byte[] strings)
    {
        // Sort by address; among aliases at one address prefer the sized one (a later entry wins ties below).
        entries.Sort((x, y) => x.Start != y.Start ? x.Start.CompareTo(y.Start) : x.Size.CompareTo(y.Size));
        var starts = new List<ulong>(entries.Count);
        var sizes = new List<ulong>(entries.Count);
        var names = new List<int>(entries.Count);
        foreach (var (start, size, name) in entries)
        {
            if (starts.Count > 0 && starts[^1] == start)
            {
                sizes[^1] = size;
                names[^1] = name;
                continue;
            }

            starts.Add(start);
            sizes.Add(size);
            names.Add(name);
        }

        return new SymbolTable([.. starts], [.. sizes], [.. names], strings);
    }

    /// <summary>The symbol covering <paramref name="address"/>: its name and start; a zero-size symbol covers up to the next one.</summary>
    public bool TryLookup(ulong address, out string name, out ulong start)
    {
        var i = IndexOf(address);
        if (i >= 0)
        {
            name = _names[i] ??= DecodeName(i);
            start = _starts[i];
            return true;
        }

        name = "";
        start = 0;
        return false;
    }

    /// <summary>The index of the symbol covering <paramref name="address"/>, or -1.</summary>
    internal int IndexOf(ulong address)
    {
        var i = Array.BinarySearch(_starts, address);
        if (i < 0)
        {
            i = ~i - 1;
        }

        return i >= 0 && (_sizes[i] == 0 || address - _starts[i] < _sizes[i]) ? i : -1;
    }

    private string DecodeName(int i)
    {
        var span = _strings.AsSpan(_nameOffsets[i]);
        var end = span.IndexOf((byte)0);
        span = end < 0 ? span : span[..end];
        var at = _stripVersions ? span.IndexOf((byte)'@') : -1;
        return Encoding.UTF8.GetString(at > 0 ? span[..at] : span);
    }
}
