using Parca.Storage.Series;
using Parca.Storage.Stacks;
using Parca.Storage.Symbols;

namespace Parca.Storage;

/// <summary>
/// A time partition (the head or an immutable block) with its own symbol database, stack tree and series index.
/// Queries work on a <see cref="PartitionView"/>: a consistent snapshot taken without locks.
/// </summary>
public abstract class Partition
{
    public abstract long MinTimeNanos { get; }
    public abstract long MaxTimeNanos { get; }

    /// <summary>A consistent read view (profiles first, then what they reference: both only grow).</summary>
    public abstract PartitionView View();
}

/// <summary>A consistent, read-only snapshot of a partition.</summary>
public abstract class PartitionView
{
    protected PartitionView(SeriesIndex series, ProfileRow[] rows, int rowCount, StackTreeView tree, SymbolsView symbols, SampleLabelsView labels)
    {
        Series = series;
        RowArray = rows;
        RowCount = rowCount;
        _tree = tree;
        _symbols = symbols;
        _labels = labels;
    }

    /// <summary>
    /// A view whose symbols, stacks and sample labels are loaded on first use (a cold block in a bucket: a query
    /// over totals only never fetches them).
    /// </summary>
    protected PartitionView(SeriesIndex series, ProfileRow[] rows, int rowCount)
    {
        Series = series;
        RowArray = rows;
        RowCount = rowCount;
    }

    private StackTreeView? _tree;
    private SymbolsView? _symbols;
    private SampleLabelsView? _labels;

    public SeriesIndex Series { get; }
    public StackTreeView Tree => _tree ?? LoadDetails()._tree!;
    public SymbolsView Symbols => _symbols ?? LoadDetails()._symbols!;
    public SampleLabelsView SampleLabels => _labels ?? LoadDetails()._labels!;

    /// <summary>Loads what the lazy constructor left out (views built with everything never get here).</summary>
    private PartitionView LoadDetails()
    {
        var (tree, symbols, labels) = LoadDetailsCore();
        _symbols = symbols;
        _labels = labels;
        _tree = tree;
        return this;
    }

    protected virtual (StackTreeView Tree, SymbolsView Symbols, SampleLabelsView Labels) LoadDetailsCore() =>
        throw new InvalidOperationException("this view was built with its details");
    internal ProfileRow[] RowArray { get; }
    public int RowCount { get; }

    public ReadOnlySpan<ProfileRow> Rows => RowArray.AsSpan(0, RowCount);

    /// <summary>Adds value × <paramref name="multiplier"/> of each sample of a profile to nodeValues[stack id].</summary>
    public abstract void Accumulate(in ProfileRow row, Span<long> nodeValues, long multiplier);

    /// <summary>Reads a profile's samples (stack id, value, sample-label set id) into the given spans (SampleCount long).</summary>
    public abstract void ReadSamples(in ProfileRow row, Span<int> stacks, Span<long> values, Span<int> labelSets);
}
