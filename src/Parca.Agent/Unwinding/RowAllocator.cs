namespace Parca.Agent.Unwinding;

/// <summary>
/// First-fit allocator of contiguous row slices in the one BPF rows array (a table's rows must be contiguous for
/// the BPF binary search). Free slices are kept sorted and merged with their neighbours, so freeing every table
/// gives back one slice. Hand-written because it is twenty lines and no library allocates ranges of a BPF map.
/// </summary>
internal sealed class RowAllocator
{
    private readonly List<(uint Start, uint Length)> _free = [];

    public RowAllocator(uint capacity)
    {
        Capacity = capacity;
        if (capacity > 0)
        {
            _free.Add((0, capacity));
        }
    }

    public uint Capacity { get; }

    public long Used { get; private set; }

    public bool TryAllocate(uint length, out uint start)
    {
        for (var i = 0; i < _free.Count; i++)
        {
            var (s, l) = _free[i];
            if (l >= length)
            {
                start = s;
                if (l == length)
                {
                    _free.RemoveAt(i);
                }
                else
                {
                    _free[i] = (s + length, l - length);
                }

                Used += length;
                return true;
            }
        }

        start = 0;
        return false;
    }

    public void Free(uint start, uint length)
    {
        Used -= length;
        var i = 0;
        while (i < _free.Count && _free[i].Start < start)
        {
            i++;
        }

        _free.Insert(i, (start, length));
        if (i + 1 < _free.Count && _free[i].Start + _free[i].Length == _free[i + 1].Start)
        {
            _free[i] = (_free[i].Start, _free[i].Length + _free[i + 1].Length);
            _free.RemoveAt(i + 1);
        }

        if (i > 0 && _free[i - 1].Start + _free[i - 1].Length == _free[i].Start)
        {
            _free[i - 1] = (_free[i - 1].Start, _free[i - 1].Length + _free[i].Length);
            _free.RemoveAt(i);
        }
    }
}
