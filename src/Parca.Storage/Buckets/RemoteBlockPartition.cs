using Parca.Storage.Blocks;
using Parca.Storage.Series;
using Parca.Storage.Stacks;
using Parca.Storage.Symbols;
using static Parca.Storage.Blocks.BlockFormat;

namespace Parca.Storage.Buckets;

/// <summary>
/// A block that lives in the bucket (uploaded by any ingest server, or merged by the compactor) and is read on
/// demand: a query first needs only the series and profile rows (two range reads; QueryRange stops there), a merge
/// then the symbols, stacks, sample labels and samples. Both groups go through the bounded <see cref="BlockCache"/>.
/// If the bucket cannot be read, the block answers as empty and the failure is reported (a query over what is local
/// still answers, with a warning).
/// </summary>
internal sealed class RemoteBlockPartition : Partition
{
    private readonly IObjectBucket _bucket;
    private readonly BlockCache _cache;
    private readonly BucketPart _part;
    private readonly string _key;
    private readonly Action<string> _readFailed;

    public RemoteBlockPartition(string bucketId, int part, BucketPart meta, IObjectBucket bucket, BlockCache cache, Action<string> readFailed)
    {
        BucketId = bucketId;
        _part = meta;
        _bucket = bucket;
        _cache = cache;
        _readFailed = readFailed;
        _key = BucketBlockMeta.PartKey(bucketId, part);
        MinTimeNanos = meta.MinTimeNanos;
        MaxTimeNanos = meta.MaxTimeNanos;
    }

    /// <summary>The bucket block this part belongs to.</summary>
    public string BucketId { get; }

    public long SampleCount => _part.Samples;

    public override long MinTimeNanos { get; }

    public override long MaxTimeNanos { get; }

    public override PartitionView View()
    {
        try
        {
            var index = _cache.GetOrLoad(_key + "#index", LoadIndex);
            return new RemoteView(index.Series, index.Rows, this);
        }
        catch (Exception e) when (e is BucketException or InvalidDataException)
        {
            _readFailed($"{_key}: {e.Message}");
            return new RemoteView(new SeriesIndex(), [], this);
        }
    }

    private (Index, long) LoadIndex()
    {
        var s = Fetch(Section.Series, Section.Profiles);
        var series = BlockReader.ReadSeries(s[Section.Series]);
        var rows = BlockReader.ReadRows(s[Section.Profiles], series);
        return (new Index(series, rows), s[Section.Series].Length + s[Section.Profiles].Length);
    }

    private (Details, long) LoadDetails()
    {
        var s = Fetch(Section.Strings, Section.Mappings, Section.Functions, Section.Locations, Section.Stacks, Section.SampleLabels, Section.Samples);
        var symbols = BlockReader.ReadSymbols(s[Section.Strings], s[Section.Mappings], s[Section.Functions], s[Section.Locations]);
        var details = new Details(BlockReader.ReadTree(s[Section.Stacks]), symbols, BlockReader.ReadSampleLabels(s[Section.SampleLabels]), s[Section.Samples]);
        long bytes = 0;
        foreach (var (_, b) in s)
        {
            bytes += b.Length;
        }

        return (details, bytes);
    }

    /// <summary>Range-reads the given sections (adjacent ones in one request, requests in parallel), checked and decompressed.</summary>
    private Dictionary<Section, byte[]> Fetch(params Section[] wanted)
    {
        var entries = new List<SectionEntry>();
        foreach (var s in _part.Sections)
        {
            if (Array.IndexOf(wanted, (Section)s.Id) >= 0)
            {
                entries.Add(s.ToEntry());
            }
        }

        if (entries.Count != wanted.Length)
        {
            throw new InvalidDataException($"{_key}: the block meta lacks a section of {string.Join(", ", wanted)}");
        }

        entries.Sort((a, b) => a.Offset.CompareTo(b.Offset));
        var ranges = new List<(long Offset, long End, List<SectionEntry> Entries)>();
        foreach (var e in entries)
        {
            if (ranges.Count > 0 && ranges[^1].End == e.Offset)
            {
                ranges[^1] = (ranges[^1].Offset, e.Offset + e.Stored, ranges[^1].Entries);
                ranges[^1].Entries.Add(e);
            }
            else
            {
                ranges.Add((e.Offset, e.Offset + e.Stored, [e]));
            }
        }

        var reads = ranges.Select(r => _bucket.GetRangeAsync(_key, r.Offset, checked((int)(r.End - r.Offset)))).ToArray();
        var result = new Dictionary<Section, byte[]>();
        for (var i = 0; i < ranges.Count; i++)
        {
            var bytes = reads[i].GetAwaiter().GetResult();
            _cache.Fetched(bytes.Length);
            foreach (var e in ranges[i].Entries)
            {
                var start = (int)(e.Offset - ranges[i].Offset);
                var stored = start + e.Stored <= bytes.Length ? bytes.AsSpan(start, (int)e.Stored).ToArray() : [];
                result[e.Id] = BlockSections.Open(e, stored, _key);
            }
        }

        return result;
    }

    private sealed record Index(SeriesIndex Series, ProfileRow[] Rows);

    private sealed record Details(StackTreeView Tree, SymbolsView Symbols, SampleLabelsView Labels, byte[] Samples);

    private sealed class RemoteView : PartitionView
    {
        private readonly RemoteBlockPartition _block;
        private byte[]? _samples;

        public RemoteView(SeriesIndex series, ProfileRow[] rows, RemoteBlockPartition block)
            : base(series, rows, rows.Length) => _block = block;

        private byte[] Samples
        {
            get
            {
                if (_samples is null)
                {
                    _ = Tree; // loads the details group, samples included
                }

                return _samples!;
            }
        }

        protected override (StackTreeView Tree, SymbolsView Symbols, SampleLabelsView Labels) LoadDetailsCore()
        {
            var d = _block._cache.GetOrLoad(_block._key + "#details", _block.LoadDetails);
            _samples = d.Samples;
            return (d.Tree, d.Symbols, d.Labels);
        }

        public override void Accumulate(in ProfileRow row, Span<long> nodeValues, long multiplier) =>
            BlockSamples.Accumulate(Samples, row, nodeValues, multiplier);

        public override void ReadSamples(in ProfileRow row, Span<int> stacks, Span<long> values, Span<int> labelSets) =>
            BlockSamples.Read(Samples, row, stacks, values, labelSets);
    }
}
