using Parca.Storage.Internal;

namespace Parca.Storage.Blocks;

/// <summary>
/// Reads a block's samples column, for blocks on disk and in the bucket alike: per profile row, its samples' stack
/// nodes delta-encoded (UVarint) each followed by its value (Varint), then, when the row has per-sample labels, one
/// label set id (Int) per sample. <see cref="BlockWriter"/> writes it.
/// </summary>
internal static class BlockSamples
{
    /// <summary>Adds the row's values, times <paramref name="multiplier"/>, to their stack nodes.</summary>
    public static void Accumulate(ReadOnlySpan<byte> samples, in ProfileRow row, Span<long> nodeValues, long multiplier)
    {
        var r = new ByteReader(samples[(int)row.Offset..]);
        var stack = 0;
        var n = row.SampleCount;
        for (var i = 0; i < n; i++)
        {
            stack += (int)r.UVarint();
            nodeValues[stack] += r.Varint() * multiplier;
        }
    }

    /// <summary>The row's samples one by one: stack node, value and label set id (0 without per-sample labels).</summary>
    public static void Read(ReadOnlySpan<byte> samples, in ProfileRow row, Span<int> stacks, Span<long> values, Span<int> labelSets)
    {
        var r = new ByteReader(samples[(int)row.Offset..]);
        var stack = 0;
        var n = row.SampleCount;
        for (var i = 0; i < n; i++)
        {
            stack += (int)r.UVarint();
            stacks[i] = stack;
            values[i] = r.Varint();
        }

        for (var i = 0; i < n; i++)
        {
            labelSets[i] = row.HasSampleLabels ? r.Int() : 0;
        }
    }
}
