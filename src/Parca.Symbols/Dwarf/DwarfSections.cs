using System.Buffers.Binary;
using System.IO.Compression;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Dwarf;

/// <summary>
/// The DWARF sections symbolization reads, loaded from an ELF file and decompressed when SHF_COMPRESSED (zlib or
/// zstd) or GNU <c>.zdebug_*</c>. Every section is capped (<see cref="DwarfLimits"/>) before and while it is
/// inflated, so a small file that claims gigabytes (a compression bomb) is refused instead of exhausting memory.
/// </summary>
internal sealed class DwarfSections
{
    private const ulong ShfCompressed = 0x800;

    public byte[] Info { get; private init; } = [];
    public byte[] Abbrev { get; private init; } = [];
    public byte[] Line { get; private init; } = [];
    public byte[] Str { get; private init; } = [];
    public byte[] LineStr { get; private init; } = [];
    public byte[] StrOffsets { get; private init; } = [];
    public byte[] Addr { get; private init; } = [];
    public byte[] Ranges { get; private init; } = [];
    public byte[] RngLists { get; private init; } = [];

    /// <summary>Total bytes held (the memory a loaded debug file costs beyond its indexes).</summary>
    public long Bytes => Info.Length + Abbrev.Length + Line.Length + Str.Length + LineStr.Length + StrOffsets.Length + Addr.Length + Ranges.Length + RngLists.Length;

    public bool HasDebugInfo => Info.Length > 0 && Abbrev.Length > 0;

    public static DwarfSections Load(ElfFile elf, ElfSource source, string nameForErrors, DwarfLimits limits)
    {
        var budget = limits.MaxSectionBytes;
        byte[] Get(string name) => Section(elf, source, nameForErrors, name, limits, ref budget);
        return new DwarfSections
        {
            Info = Get(".debug_info"),
            Abbrev = Get(".debug_abbrev"),
            Line = Get(".debug_line"),
            Str = Get(".debug_str"),
            LineStr = Get(".debug_line_str"),
            StrOffsets = Get(".debug_str_offsets"),
            Addr = Get(".debug_addr"),
            Ranges = Get(".debug_ranges"),
            RngLists = Get(".debug_rnglists"),
        };
    }

    private static byte[] Section(ElfFile elf, ElfSource source, string file, string name, DwarfLimits limits, ref long budget)
    {
        var header = elf.Sections.FirstOrDefault(s => s.Name == name);
        var gnu = false;
        if (header is null)
        {
            header = elf.Sections.FirstOrDefault(s => s.Name == ".z" + name[1..]);
            gnu = header is not null;
        }

        if (header is null || header.Type == 8 || header.Size == 0)
        {
            return [];
        }

        var raw = elf.ReadSection(source, file, header.Name, Math.Min(budget, limits.MaxSectionBytes)) ?? [];
        byte[] data;
        if ((header.Flags & ShfCompressed) != 0)
        {
            if (raw.Length < 24)
            {
                throw new DwarfException($"{file}: {name}: compression header truncated");
            }

            var type = BinaryPrimitives.ReadUInt32LittleEndian(raw);
            var size = BinaryPrimitives.ReadUInt64LittleEndian(raw.AsSpan(8));
            data = Inflate(raw.AsSpan(24), type, size, file, name, Math.Min(budget, limits.MaxSectionBytes));
        }
        else if (gnu)
        {
            if (raw.Length < 12 || !raw.AsSpan(0, 4).SequenceEqual("ZLIB"u8))
            {
                throw new DwarfException($"{file}: {header.Name}: missing ZLIB header");
            }

            data = Inflate(raw.AsSpan(12), 1, BinaryPrimitives.ReadUInt64BigEndian(raw.AsSpan(4)), file, name, Math.Min(budget, limits.MaxSectionBytes));
        }
        else
        {
            data = raw;
        }

        budget -= data.Length;
        return data;
    }

    private static byte[] Inflate(ReadOnlySpan<byte> compressed, uint type, ulong size, string file, string name, long max)
    {
        if (size > (ulong)max)
        {
            throw new DwarfException($"{file}: {name}: declared uncompressed size {size} exceeds the {max} byte limit");
        }

        var output = new byte[(int)size];
        try
        {
            using var input = new MemoryStream(compressed.ToArray(), writable: false);
            using Stream stream = type switch
            {
                1 => new ZLibStream(input, CompressionMode.Decompress),
                2 => new SharpCompress.Compressors.ZStandard.DecompressionStream(input),
                _ => throw new DwarfException($"{file}: {name}: unknown compression type {type}"),
            };
            var read = 0;
            while (read < output.Length)
            {
                var n = stream.Read(output, read, output.Length - read);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            if (read != output.Length)
            {
                throw new DwarfException($"{file}: {name}: inflated to {read} bytes, header says {size}");
            }
        }
        catch (Exception e) when (e is not (DwarfException or OutOfMemoryException))
        {
            throw new DwarfException($"{file}: {name}: corrupt compressed data ({e.GetType().Name}: {e.Message})");
        }

        return output;
    }
}

/// <summary>Bounds on what one debug file may cost; beyond them the file is refused as invalid with the reason.</summary>
public sealed record DwarfLimits
{
    public static DwarfLimits Default { get; } = new();

    /// <summary>All DWARF sections of one file together, after decompression.</summary>
    public long MaxSectionBytes { get; init; } = 1L << 30;

    /// <summary>Nesting depth of a DIE tree (real code nests a few dozen deep).</summary>
    public int MaxDieDepth { get; init; } = 512;

    /// <summary>Hops through abstract_origin/specification chains when naming a function.</summary>
    public int MaxNameHops { get; init; } = 16;

    /// <summary>Line table rows of one unit.</summary>
    public int MaxLineRows { get; init; } = 16 << 20;
}
