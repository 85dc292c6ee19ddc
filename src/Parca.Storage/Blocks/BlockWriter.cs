using System.IO.Compression;
using System.IO.Hashing;
using Parca.Storage.Internal;
using static Parca.Storage.Blocks.BlockFormat;

namespace Parca.Storage.Blocks;

/// <summary>Serializes a <see cref="BlockPartition"/> into the block file format (docs/storage-format.md).</summary>
internal static class BlockWriter
{
    public static byte[] Encode(BlockPartition block)
    {
        var view = block.View();
        var sections = new List<(Section Id, uint Codec, byte[] Stored, int RawLength)>();

        void Add(Section id, ByteWriter w, bool compress)
        {
            var raw = w.Written;
            if (!compress)
            {
                sections.Add((id, CodecRaw, raw.ToArray(), raw.Length));
                return;
            }

            var dest = new byte[BrotliEncoder.GetMaxCompressedLength(raw.Length)];
            if (!BrotliEncoder.TryCompress(raw, dest, out var written, quality: 5, window: 22))
            {
                throw new InvalidOperationException("brotli compression failed");
            }

            sections.Add((id, CodecBrotli, dest.AsSpan(0, written).ToArray(), raw.Length));
        }

        var w = new ByteWriter(1024);
        w.UVarint(FormatVersion);
        w.String(block.Id);
        w.Varint(block.MinTimeNanos);
        w.Varint(block.MaxTimeNanos);
        w.UVarint((ulong)view.RowCount);
        w.UVarint((ulong)block.SampleCount);
        Add(Section.Meta, w, compress: false);

        var sym = view.Symbols;
        w = new ByteWriter(1 << 16);
        w.UVarint((ulong)sym.StringCount);
        foreach (var s in sym.Strings)
        {
            w.String(s);
        }

        Add(Section.Strings, w, true);

        w = new ByteWriter(1024);
        w.UVarint((ulong)sym.MappingCount);
        foreach (var m in sym.Mappings)
        {
            w.UVarint(m.Start);
            w.UVarint(m.Limit - m.Start);
            w.UVarint(m.Offset);
            w.UVarint((ulong)m.File);
            w.UVarint((ulong)m.BuildId);
        }

        Add(Section.Mappings, w, true);

        w = new ByteWriter(1 << 16);
        w.UVarint((ulong)sym.FunctionCount);
        foreach (var f in sym.Functions)
        {
            w.UVarint((ulong)f.Name);
            w.UVarint((ulong)f.SystemName);
            w.UVarint((ulong)f.FileName);
            w.Varint(f.StartLine);
        }

        Add(Section.Functions, w, true);

        w = new ByteWriter(1 << 16);
        w.UVarint((ulong)sym.LocationCount);
        foreach (var l in sym.Locations)
        {
            w.UVarint((ulong)l.Mapping);
            w.UVarint(l.Address);
            w.UVarint((ulong)l.LineCount);
            foreach (var line in sym.LinesOf(l))
            {
                w.UVarint((ulong)line.Function);
                w.Varint(line.Line);
            }
        }

        Add(Section.Locations, w, true);

        w = new ByteWriter(1 << 16);
        var tree = view.Tree;
        w.UVarint((ulong)tree.Count);
        for (var i = 1; i < tree.Count; i++)
        {
            w.UVarint((ulong)(i - tree.Parents[i]));
            w.UVarint((ulong)tree.Locations[i]);
        }

        Add(Section.Stacks, w, true);

        w = new ByteWriter(4096);
        var series = view.Series;
        w.UVarint((ulong)series.SeriesCount);
        for (var s = 0; s < series.SeriesCount; s++)
        {
            var e = series.GetSeries(s);
            w.String(e.Type.Name);
            w.String(e.Type.SampleType);
            w.String(e.Type.SampleUnit);
            w.String(e.Type.PeriodType);
            w.String(e.Type.PeriodUnit);
            w.UVarint(e.Type.Delta ? 1u : 0u);
            w.UVarint((ulong)e.Labels.Count);
            foreach (var l in e.Labels.Labels)
            {
                w.String(l.Name);
                w.String(l.Value);
            }
        }

        Add(Section.Series, w, true);

        w = new ByteWriter(1024);
        var labels = view.SampleLabels;
        w.UVarint((ulong)labels.SetCount);
        for (var s = 1; s < labels.SetCount; s++)
        {
            var set = labels.Get(s);
            w.UVarint((ulong)set.Length);
            foreach (var l in set)
            {
                w.UVarint((ulong)l.Key);
                w.Varint(l.Str);
                w.Varint(l.Num);
                w.UVarint((ulong)l.NumUnit);
            }
        }

        Add(Section.SampleLabels, w, true);

        w = new ByteWriter(1 << 16);
        w.UVarint((ulong)view.RowCount);
        var prevSeries = 0;
        long prevTime = 0, prevOffset = 0;
        foreach (var r in view.Rows)
        {
            if (r.Series != prevSeries)
            {
                prevTime = 0;
            }

            w.UVarint((ulong)(r.Series - prevSeries));
            w.Varint(r.TimeNanos - prevTime);
            w.Varint(r.DurationNanos);
            w.Varint(r.Period);
            w.Varint(r.Total);
            w.UVarint((ulong)r.SampleCount);
            w.UVarint((ulong)(r.Offset - prevOffset));
            w.UVarint(r.HasSampleLabels ? 1u : 0u);
            prevSeries = r.Series;
            prevTime = r.TimeNanos;
            prevOffset = r.Offset;
        }

        Add(Section.Profiles, w, true);

        var samplesWriter = new ByteWriter(0);
        samplesWriter.Bytes(block.Samples);
        Add(Section.Samples, samplesWriter, true);

        return Assemble(sections);
    }

    private static byte[] Assemble(List<(Section Id, uint Codec, byte[] Stored, int RawLength)> sections)
    {
        var file = new ByteWriter(1 << 16);
        file.Bytes(HeadMagic);
        file.U32(FormatVersion);
        var table = new ByteWriter(sections.Count * TableEntrySize);
        foreach (var (id, codec, stored, rawLength) in sections)
        {
            var offset = file.Length;
            file.Bytes(stored);
            table.U32((uint)id);
            table.U32(codec);
            table.U64((ulong)offset);
            table.U64((ulong)stored.Length);
            table.U64((ulong)rawLength);
            table.U32(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, stored));
        }

        var tableOffset = file.Length;
        file.Bytes(table.Written);
        file.U64((ulong)tableOffset);
        file.U32((uint)sections.Count);
        file.U32(Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, table.Written));
        file.Bytes(TailMagic);
        return file.ToArray();
    }

    /// <summary>Writes a block file atomically: temporary file, fsync, rename.</summary>
    public static string WriteFile(BlockPartition block, string directory)
    {
        Directory.CreateDirectory(directory);
        var bytes = Encode(block);
        var path = Path.Combine(directory, block.Id + Extension);
        var tmp = path + ".tmp";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: true);
        }
        catch (IOException e)
        {
            File.Delete(tmp); // a full disk leaves no partial file behind (and gets its space back)
            throw new StorageWriteException(e);
        }

        return path;
    }
}
