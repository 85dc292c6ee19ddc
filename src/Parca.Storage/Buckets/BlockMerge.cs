using Parca.Storage.Blocks;
using Parca.Storage.Head;

namespace Parca.Storage.Buckets;

/// <summary>
/// Merges blocks into one for bucket compaction: every profile of every input goes into a fresh head, whose symbols,
/// stacks and series are shared across the inputs (each input's ids mapped once, see HeadPartition.Import), and the
/// head is built into a block.
/// </summary>
internal static class BlockMerge
{
    public static BlockPartition Merge(IReadOnlyList<PartitionView> inputs, string id, CancellationToken cancel)
    {
        var head = new HeadPartition();
        foreach (var view in inputs)
        {
            head.Import(view, cancel);
        }

        head.Seal();
        return BlockBuilder.Build(head.View(), id, head.MinTimeNanos, head.MaxTimeNanos);
    }
}
