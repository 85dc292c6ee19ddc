using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;
using Parca.Storage.Internal;
using Parca.Storage.Series;
using Parca.Storage.Stacks;
using Parca.Storage.Symbols;
using static Parca.Storage.Blocks.BlockFormat;

namespace Parca.Storage.Blocks;

/// <summary>
/// Reads a block file, verifying magic, version and every section's CRC-32C; corrupt input throws
/// <see cref="InvalidDataException"/> naming what is wrong.
/// </summary>
internal static class BlockReader
{
    public static BlockPartition ReadFile(string path)
    {
        // Exactly the size stat reports, never "to the end": a device node reads as its (zero) size, not forever.
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var length = RandomAccess.GetLength(handle);
        if (length > int.MaxValue - 64)
        {
            throw new InvalidDataException($"{path}: {length} bytes is larger than a block file can be");
        }

        var bytes = new byte[length];
        if (RandomAccess.Read(handle, bytes, 0) != length)
        {
            throw new InvalidDataException($"{path}: the file shrank while it was read");
        }

        var block = Decode(bytes, path);
        block.FilePath = path;
        return block;
    }

    public static BlockPartition Decode(byte[] file, string name = "block")
    {
        if (file.Length < HeadMagic.Length + 4 + FooterSize || !file.AsSpan(0, 8).SequenceEqual(HeadMagic) || !file.AsSpan(file.Length - 8).SequenceEqual(TailMagic))
        {
            throw new InvalidDataException($"{name}: not a block file (bad magic)");
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(8));
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"{name}: unsupported block format version {version} (this build reads {FormatVersion})");
        }

        var footer = file.AsSpan(file.Length - FooterSize);
        var tableOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(footer);
        var count = (int)BinaryPrimitives.ReadUInt32LittleEndian(footer[8..]);
        var tableCrc = BinaryPrimitives.ReadUInt32LittleEndian(footer[12..]);
        var tableLength = (long)count * TableEntrySize;
        if (tableOffset < 12 || tableOffset > file.Length || tableOffset + tableLength != file.Length - FooterSize)
        {
            throw new InvalidDataException($"{name}: section table out of range");
        }

        var table = file.AsSpan((int)tableOffset, (int)tableLength);
        if (Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, table) != tableCrc)
        {
            throw new InvalidDataException($"{name}: section table checksum mismatch");
        }

        var sections = new Dictionary<Section, byte[]>();
        var t = new ByteReader(table);
        for (var i = 0; i < count; i++)
        {
            var id = (Section)t.U32();
            var codec = t.U32();
            var offset = t.U64();
            var stored = t.U64();
            var raw = t.U64();
            var crc = t.U32();
            // Unsigned, and each checked on its own first: forged lengths cannot overflow into a valid-looking range.
            if (offset < 12 || offset > (ulong)tableOffset || stored > (ulong)tableOffset - offset || raw > int.MaxValue)
            {
                throw new InvalidDataException($"{name}: section {id} out of range (offset {offset}, length {stored}, section data ends at {tableOffset})");
            }

            if (codec == CodecRaw && raw != stored)
            {
                throw new InvalidDataException($"{name}: section {id} is stored raw but records {raw} bytes for {stored}");
            }

            var bytes = file.AsSpan((int)offset, (int)stored);
            if (Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, bytes) != crc)
            {
                throw new InvalidDataException($"{name}: section {id} checksum mismatch (corrupt file)");
            }

            sections[id] = codec switch
            {
                CodecRaw => bytes.ToArray(),
                CodecBrotli => Decompress(bytes, (int)raw, name, id),
                _ => throw new InvalidDataException($"{name}: section {id} has unknown codec {codec}"),
            };
        }

        byte[] Need(Section s) => sections.TryGetValue(s, out var b) ? b : throw new InvalidDataException($"{name}: section {s} missing");

        var meta = new ByteReader(Need(Section.Meta));
        meta.UVarint();
        var blockId = meta.String();

        var symbols = ReadSymbols(Need(Section.Strings), Need(Section.Mappings), Need(Section.Functions), Need(Section.Locations));
        var tree = ReadTree(Need(Section.Stacks));
        var series = ReadSeries(Need(Section.Series));
        var labels = ReadSampleLabels(Need(Section.SampleLabels));
        var rows = ReadRows(Need(Section.Profiles), series);
        return new BlockPartition(blockId, series, rows, tree, symbols, labels, Need(Section.Samples));
    }

    /// <summary>
    /// Decompresses into a buffer that grows with what actually comes out (never more than the recorded length), so
    /// a forged length with a valid checksum costs no more memory than the data behind it.
    /// </summary>
    internal static byte[] Decompress(ReadOnlySpan<byte> src, int rawLength, string name, Section id)
    {
        var dest = new byte[(int)Math.Min(rawLength, Math.Max(64L * 1024, src.Length * 8L))];
        using var decoder = new BrotliDecoder();
        var read = 0;
        var written = 0;
        while (true)
        {
            var status = decoder.Decompress(src[read..], dest.AsSpan(written), out var consumed, out var produced);
            read += consumed;
            written += produced;
            if (status == System.Buffers.OperationStatus.Done)
            {
                break;
            }

            if (status != System.Buffers.OperationStatus.DestinationTooSmall || dest.Length == rawLength)
            {
                throw new InvalidDataException($"{name}: section {id} does not decompress to its recorded length {rawLength}");
            }

            Array.Resize(ref dest, (int)Math.Min(rawLength, dest.Length * 2L));
        }

        if (written != rawLength)
        {
            throw new InvalidDataException($"{name}: section {id} decompresses to {written} bytes, not its recorded {rawLength}");
        }

        return dest;
    }

    internal static SymbolsView ReadSymbols(byte[] stringsBytes, byte[] mappingsBytes, byte[] functionsBytes, byte[] locationsBytes)
    {
        var r = new ByteReader(stringsBytes);
        var strings = new string[r.Count()];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = r.String();
        }

        r = new ByteReader(mappingsBytes);
        var mappings = new MappingSym[r.Count()];
        for (var i = 0; i < mappings.Length; i++)
        {
            var start = r.UVarint();
            mappings[i] = new MappingSym(start, start + r.UVarint(), r.UVarint(), r.Int(), r.Int());
        }

        r = new ByteReader(functionsBytes);
        var functions = new FunctionSym[r.Count()];
        for (var i = 0; i < functions.Length; i++)
        {
            functions[i] = new FunctionSym(r.Int(), r.Int(), r.Int(), r.Varint());
        }

        r = new ByteReader(locationsBytes);
        var locations = new LocationSym[r.Count()];
        var lines = new List<LineSym>(locations.Length);
        for (var i = 0; i < locations.Length; i++)
        {
            var mapping = r.Int();
            var address = r.UVarint();
            var n = r.Int();
            var first = lines.Count;
            for (var k = 0; k < n; k++)
            {
                lines.Add(new LineSym(r.Int(), r.Varint()));
            }

            locations[i] = new LocationSym(mapping, address, first, n);
        }

        var lineArray = lines.ToArray();
        return new SymbolsView(strings, strings.Length, mappings, mappings.Length, functions, functions.Length, locations, locations.Length, lineArray, lineArray.Length);
    }

    internal static StackTreeView ReadTree(byte[] bytes)
    {
        var r = new ByteReader(bytes);
        var n = r.Int();
        if (n < 1 || n - 1 > bytes.Length)
        {
            throw new InvalidDataException($"stack node count {n} does not fit the section");
        }

        var parents = new int[n];
        var locations = new int[n];
        parents[0] = -1;
        for (var i = 1; i < n; i++)
        {
            parents[i] = i - r.Int();
            locations[i] = r.Int();
            if (parents[i] < 0)
            {
                throw new InvalidDataException($"stack node {i} has an invalid parent");
            }
        }

        return new StackTreeView(parents, locations, n);
    }

    internal static SeriesIndex ReadSeries(byte[] bytes)
    {
        var r = new ByteReader(bytes);
        var n = r.Count();
        var index = new SeriesIndex();
        for (var s = 0; s < n; s++)
        {
            var type = new ProfileType(r.String(), r.String(), r.String(), r.String(), r.String(), r.UVarint() != 0);
            var count = r.Count();
            var labels = new Label[count];
            for (var i = 0; i < count; i++)
            {
                labels[i] = new Label(r.String(), r.String());
            }

            index.GetOrAdd(type, LabelSet.From(labels));
        }

        return index;
    }

    internal static SampleLabelsView ReadSampleLabels(byte[] bytes)
    {
        var r = new ByteReader(bytes);
        var sets = r.Int();
        if (sets < 1 || sets - 1 > bytes.Length)
        {
            throw new InvalidDataException($"sample label set count {sets} does not fit the section");
        }

        var offsets = new int[sets + 1];
        var labels = new List<SampleLabelSym>();
        for (var s = 1; s < sets; s++)
        {
            var n = r.Int();
            for (var i = 0; i < n; i++)
            {
                labels.Add(new SampleLabelSym(r.Int(), (int)r.Varint(), r.Varint(), r.Int()));
            }

            offsets[s + 1] = labels.Count;
        }

        return new SampleLabelsView([.. labels], offsets, sets);
    }

    internal static ProfileRow[] ReadRows(byte[] bytes, SeriesIndex series)
    {
        var r = new ByteReader(bytes);
        var rows = new ProfileRow[r.Count()];
        var prevSeries = 0;
        long prevTime = 0, prevOffset = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            var s = prevSeries + r.Int();
            if (s != prevSeries)
            {
                prevTime = 0;
            }

            if (s >= series.SeriesCount)
            {
                throw new InvalidDataException($"profile row {i} refers to unknown series {s}");
            }

            var row = new ProfileRow
            {
                Series = s,
                TimeNanos = prevTime + r.Varint(),
                DurationNanos = r.Varint(),
                Period = r.Varint(),
                Total = r.Varint(),
                SampleCount = r.Int(),
                Offset = prevOffset + (long)r.UVarint(),
                HasSampleLabels = r.UVarint() != 0,
            };
            rows[i] = row;
            series.GetSeries(s).Profiles.Add(i);
            prevSeries = s;
            prevTime = row.TimeNanos;
            prevOffset = row.Offset;
        }

        return rows;
    }
}
