using System.Buffers.Binary;
using System.IO.Hashing;
using Parca.Storage.Internal;
using static Parca.Storage.Blocks.BlockFormat;

namespace Parca.Storage.Blocks;

/// <summary>One entry of a block file's section table: where a section is, how it is stored, its CRC-32C.</summary>
internal readonly record struct SectionEntry(Section Id, uint Codec, long Offset, long Stored, int Raw, uint Crc);

/// <summary>
/// Section-level access to a block file, for blocks read piecewise from a bucket: the table is read once (it goes
/// into the block's meta object) and each section is fetched by range, checked and decompressed on its own.
/// </summary>
internal static class BlockSections
{
    /// <summary>The section table of a whole, already checked block file.</summary>
    public static SectionEntry[] ReadTable(ReadOnlySpan<byte> file)
    {
        var footer = file[^FooterSize..];
        var tableOffset = (int)BinaryPrimitives.ReadUInt64LittleEndian(footer);
        var count = (int)BinaryPrimitives.ReadUInt32LittleEndian(footer[8..]);
        var t = new ByteReader(file.Slice(tableOffset, count * TableEntrySize));
        var entries = new SectionEntry[count];
        for (var i = 0; i < count; i++)
        {
            entries[i] = new SectionEntry((Section)t.U32(), t.U32(), (long)t.U64(), (long)t.U64(), checked((int)t.U64()), t.U32());
        }

        return entries;
    }

    /// <summary>Checks a section's stored bytes against its CRC-32C and decompresses them.</summary>
    public static byte[] Open(in SectionEntry entry, byte[] stored, string name)
    {
        if (stored.Length != entry.Stored || Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, stored) != entry.Crc)
        {
            throw new InvalidDataException($"{name}: section {entry.Id} checksum mismatch ({stored.Length} of {entry.Stored} bytes read)");
        }

        return entry.Codec switch
        {
            CodecRaw => stored,
            CodecBrotli => BlockReader.Decompress(stored, entry.Raw, name, entry.Id),
            _ => throw new InvalidDataException($"{name}: section {entry.Id} has unknown codec {entry.Codec}"),
        };
    }
}
