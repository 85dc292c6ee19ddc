using Parca.Storage.Series;
using Parca.Storage.Stacks;
using Parca.Storage.Symbols;

namespace Parca.Storage.Blocks;

/// <summary>
/// An immutable partition: symbols, stack tree and series decoded into arrays; sample columns kept compact
/// (per profile, sorted by stack id: delta-varint stack ids interleaved with zigzag-varint values, then optional
/// label-set ids) and decoded on the fly by merges.
/// </summary>
internal sealed class BlockPartition : Partition
{
    private readonly BlockView _view;

    public BlockPartition(string id, SeriesIndex series, ProfileRow[] rows, StackTreeView tree, SymbolsView symbols, SampleLabelsView labels, byte[] samples)
    {
        Id = id;
        Samples = samples;
        _view = new BlockView(series, rows, tree, symbols, labels, samples);
        long min = long.MaxValue, max = long.MinValue;
        foreach (var r in rows)
        {
            min = Math.Min(min, r.TimeNanos);
            max = Math.Max(max, r.TimeNanos);
        }

        MinTimeNanos = rows.Length == 0 ? 0 : min;
        MaxTimeNanos = rows.Length == 0 ? 0 : max;
    }

    public string Id { get; }

    /// <summary>The bucket block holding this block once uploaded (object storage), else null.</summary>
    public string? BucketId { get; set; }

    /// <summary>Path of the block file when persisted.</summary>
    public string? FilePath { get; set; }

    internal byte[] Samples { get; }

    public override long MinTimeNanos { get; }

    public override long MaxTimeNanos { get; }

    public long SampleCount
    {
        get
        {
            long n = 0;
            foreach (var r in _view.Rows)
            {
                n += r.SampleCount;
            }

            return n;
        }
    }

    public override PartitionView View() => _view;

    private sealed class BlockView : PartitionView
    {
        private readonly byte[] _samples;

        public BlockView(SeriesIndex series, ProfileRow[] rows, StackTreeView tree, SymbolsView symbols, SampleLabelsView labels, byte[] samples)
            : base(series, rows, rows.Length, tree, symbols, labels) => _samples = samples;

        public override void Accumulate(in ProfileRow row, Span<long> nodeValues, long multiplier) =>
            BlockSamples.Accumulate(_samples, row, nodeValues, multiplier);

        public override void ReadSamples(in ProfileRow row, Span<int> stacks, Span<long> values, Span<int> labelSets) =>
            BlockSamples.Read(_samples, row, stacks, values, labelSets);
    }
}
