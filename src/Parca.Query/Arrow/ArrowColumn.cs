namespace Parca.Query.Arrow;

/// <summary>A column of an Arrow record batch, in the few physical layouts the reports use.</summary>
internal abstract class ArrowColumn(string name, bool nullable)
{
    public string Name { get; } = name;
    public bool Nullable { get; } = nullable;
    public abstract int Length { get; }
}

/// <summary>An integer column of a given width and signedness; <see cref="Valid"/> null means no nulls.</summary>
internal sealed class IntColumn(string name, int bitWidth, bool signed, long[] values, bool[]? valid = null, bool nullable = false)
    : ArrowColumn(name, nullable || valid is not null)
{
    public int BitWidth { get; } = bitWidth;
    public bool Signed { get; } = signed;
    public long[] Values { get; } = values;
    public bool[]? Valid { get; } = valid;
    public override int Length => Values.Length;

    /// <summary>The smallest unsigned width holding every value (Parca's layout for counters).</summary>
    public static IntColumn SmallestUnsigned(string name, long[] values, bool[]? valid = null)
    {
        ulong max = 0;
        foreach (var v in values)
        {
            max = Math.Max(max, (ulong)v);
        }

        var width = max <= byte.MaxValue ? 8 : max <= ushort.MaxValue ? 16 : max <= uint.MaxValue ? 32 : 64;
        return new IntColumn(name, width, false, values, valid);
    }

    /// <summary>The smallest signed width holding every value.</summary>
    public static IntColumn SmallestSigned(string name, long[] values)
    {
        long max = 0;
        foreach (var v in values)
        {
            max = Math.Max(max, v < 0 ? -(v + 1) : v);
        }

        var width = max <= sbyte.MaxValue ? 8 : max <= short.MaxValue ? 16 : max <= int.MaxValue ? 32 : 64;
        return new IntColumn(name, width, true, values);
    }
}

/// <summary>A boolean column.</summary>
internal sealed class BoolColumn(string name, bool[] values, bool[]? valid = null) : ArrowColumn(name, valid is not null)
{
    public bool[] Values { get; } = values;
    public bool[]? Valid { get; } = valid;
    public override int Length => Values.Length;
}

/// <summary>A dictionary-encoded binary (or utf8) column with int32 indices.</summary>
internal sealed class DictionaryColumn(string name, string[] dictionary, int[] indices, bool[]? valid = null, bool utf8 = false)
    : ArrowColumn(name, valid is not null)
{
    public string[] Dictionary { get; } = dictionary;
    public int[] Indices { get; } = indices;
    public bool[]? Valid { get; } = valid;
    public bool Utf8 { get; } = utf8;
    public override int Length => Indices.Length;

    /// <summary>Builds the dictionary from the referenced values only (compacted), first-seen order.</summary>
    public static DictionaryColumn From(string name, IReadOnlyList<string?> values, bool utf8 = false)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var dict = new List<string>();
        var indices = new int[values.Count];
        bool[]? valid = null;
        for (var i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (v is null)
            {
                valid ??= Enumerable.Repeat(true, values.Count).ToArray();
                valid[i] = false;
                continue;
            }

            if (!ids.TryGetValue(v, out var id))
            {
                id = dict.Count;
                dict.Add(v);
                ids.Add(v, id);
            }

            indices[i] = id;
        }

        return new DictionaryColumn(name, [.. dict], indices, valid, utf8);
    }

    /// <summary>
    /// Builds the dictionary from interned string ids (−1 = null) without hashing strings: a scratch array (one int
    /// per interned string) maps a string id to its dictionary index. The indices replace the ids in
    /// <paramref name="ids"/> (the callers' id columns are built for this column alone: no second array of a row each).
    /// </summary>
    public static DictionaryColumn FromIds(string name, int[] ids, IReadOnlyList<string> strings, bool utf8 = false)
    {
        var scratch = System.Buffers.ArrayPool<int>.Shared.Rent(strings.Count);
        scratch.AsSpan(0, strings.Count).Fill(-1);
        var dict = new List<string>();
        var indices = ids;
        bool[]? valid = null;
        for (var i = 0; i < ids.Length; i++)
        {
            var id = ids[i];
            if (id < 0)
            {
                if (valid is null)
                {
                    valid = new bool[ids.Length];
                    valid.AsSpan().Fill(true);
                }

                valid[i] = false;
                indices[i] = 0; // as a fresh array held it: the record's bytes do not depend on where ids came from
                continue;
            }

            var index = scratch[id];
            if (index < 0)
            {
                index = scratch[id] = dict.Count;
                dict.Add(strings[id]);
            }

            indices[i] = index;
        }

        System.Buffers.ArrayPool<int>.Shared.Return(scratch);
        return new DictionaryColumn(name, [.. dict], indices, valid, utf8);
    }
}

/// <summary>
/// A list column of row indices: <see cref="Offsets"/> has Length + 1 entries; the items are written at
/// <see cref="ItemBitWidth"/> (32, or 64 as Parca's table sends them), straight from the int arrays that hold them.
/// </summary>
internal sealed class IntListColumn(string name, int[] offsets, int[] items, int itemBitWidth, bool itemSigned, bool[]? valid = null)
    : ArrowColumn(name, true)
{
    public int[] Offsets { get; } = offsets;
    public int[] Items { get; } = items;
    public int ItemBitWidth { get; } = itemBitWidth;
    public bool ItemSigned { get; } = itemSigned;
    public bool[]? Valid { get; } = valid;
    public override int Length => Offsets.Length - 1;
}
