using System.Buffers;
using System.Runtime.CompilerServices;

namespace Parca.Query.Engine;

/// <summary>
/// An open-addressing map from a non-negative long that packs two ints (<c>(parent &lt;&lt; 32) | child</c>) to an int:
/// the merge and the frame graph do one lookup per tree node, 0.4–1 M per large query, each a likely cache miss.
/// Hand-written because <see cref="Dictionary{TKey, TValue}"/> with a custom comparer pays two interface calls per
/// probe and reads a bucket array and then an entry array (two misses); here key and value share one 16-byte slot
/// and a probe is a multiply, a shift and a compare (linear probing, load at most one half). The multiply by 2^64/φ
/// keeps the high bits, so both halves of the key count (<see cref="long.GetHashCode"/> XORs them: small ids on both
/// sides crowd a few thousand buckets). Keys must be non-negative: −1 marks an empty slot. The slots are pooled:
/// <see cref="Dispose"/> returns them.
/// </summary>
internal sealed class PackedKeyMap : IDisposable
{
    private const long Empty = -1;
    private Slot[] _slots;
    private int _shift;
    private int _mask;

    public PackedKeyMap(int capacity = 16)
    {
        _slots = NewSlots(SizeFor(capacity), out _shift, out _mask);
    }

    public int Count { get; private set; }

    /// <summary>Room for <paramref name="capacity"/> entries without growing.</summary>
    public void EnsureCapacity(int capacity)
    {
        if (SizeFor(capacity) > _mask + 1)
        {
            Resize(SizeFor(capacity));
        }
    }

    public bool TryGetValue(long key, out int value)
    {
        var slots = _slots;
        for (var i = IndexOf(key); ; i = (i + 1) & _mask)
        {
            ref var slot = ref slots[i];
            if (slot.Key == key)
            {
                value = slot.Value;
                return true;
            }

            if (slot.Key == Empty)
            {
                value = 0;
                return false;
            }
        }
    }

    /// <summary>The value slot of <paramref name="key"/>, added as 0 when absent (valid until the next addition).</summary>
    public ref int GetValueRefOrAddDefault(long key, out bool exists)
    {
        if ((Count + 1) * 2 > _mask + 1)
        {
            Resize((_mask + 1) * 2);
        }

        var slots = _slots;
        for (var i = IndexOf(key); ; i = (i + 1) & _mask)
        {
            ref var slot = ref slots[i];
            if (slot.Key == key)
            {
                exists = true;
                return ref slot.Value;
            }

            if (slot.Key == Empty)
            {
                slot.Key = key;
                slot.Value = 0;
                Count++;
                exists = false;
                return ref slot.Value;
            }
        }
    }

    public void Dispose()
    {
        if (_slots.Length == 0)
        {
            return;
        }

        ArrayPool<Slot>.Shared.Return(_slots);
        (_slots, _mask, Count) = ([], 0, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int IndexOf(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> _shift);

    private void Resize(int size)
    {
        var (old, oldSize) = (_slots, _mask + 1);
        _slots = NewSlots(size, out _shift, out _mask);
        for (var j = 0; j < oldSize; j++)
        {
            var key = old[j].Key;
            if (key == Empty)
            {
                continue;
            }

            var i = IndexOf(key);
            while (_slots[i].Key != Empty)
            {
                i = (i + 1) & _mask;
            }

            _slots[i] = old[j];
        }

        ArrayPool<Slot>.Shared.Return(old);
    }

    private static int SizeFor(int capacity) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity * 2));

    private static Slot[] NewSlots(int size, out int shift, out int mask)
    {
        var slots = ArrayPool<Slot>.Shared.Rent(size);
        slots.AsSpan(0, size).Fill(new Slot { Key = Empty });
        shift = 64 - System.Numerics.BitOperations.Log2((uint)size);
        mask = size - 1;
        return slots;
    }

    private struct Slot
    {
        public long Key;
        public int Value;
    }
}
