namespace Parca.Query.Engine;

/// <summary>
/// The call tree of a query result on result locations: node 0 is the root; label groups (group_by labels.*) are
/// children of the root with <see cref="Location"/> 0 and a group index. Parent ids are smaller than child ids.
/// <see cref="Value"/> holds the flat value (profile B in a diff), <see cref="Base"/> the flat value of profile A.
/// </summary>
public sealed class ResultTree
{
    private readonly Dictionary<long, int> _children = new(PackedKeyComparer.Instance);
    private int[] _parent = new int[1024];
    private int[] _location = new int[1024];
    private int[] _group = new int[1024];
    private long[] _value = new long[1024];
    private long[] _base = new long[1024];

    public ResultTree()
    {
        Count = 1;
        _parent[0] = -1;
        _group[0] = -1;
    }

    public int Count { get; private set; }

    public ReadOnlySpan<int> Parent => _parent.AsSpan(0, Count);
    public ReadOnlySpan<int> Location => _location.AsSpan(0, Count);
    public ReadOnlySpan<int> Group => _group.AsSpan(0, Count);
    public ReadOnlySpan<long> Value => _value.AsSpan(0, Count);
    public ReadOnlySpan<long> Base => _base.AsSpan(0, Count);

    internal void Add(int node, long value, bool isBase)
    {
        if (isBase)
        {
            _base[node] += value;
        }
        else
        {
            _value[node] += value;
        }
    }

    /// <summary>Room for <paramref name="nodes"/> nodes in all, so a large fold does not grow (and rehash) step by step.</summary>
    internal void EnsureCapacity(int nodes)
    {
        if (nodes <= _parent.Length)
        {
            return;
        }

        _children.EnsureCapacity(nodes);
        Array.Resize(ref _parent, nodes);
        Array.Resize(ref _location, nodes);
        Array.Resize(ref _group, nodes);
        Array.Resize(ref _value, nodes);
        Array.Resize(ref _base, nodes);
    }

    internal int GroupRoot(int group) => Get(0, -(group + 1), group);

    internal int Child(int parent, int location) => Get(parent, location, _group[parent]);

    private int Get(int parent, int location, int group)
    {
        var key = ((long)parent << 32) | (uint)location;
        if (_children.TryGetValue(key, out var id))
        {
            return id;
        }

        if (Count == _parent.Length)
        {
            var n = Count * 2;
            Array.Resize(ref _parent, n);
            Array.Resize(ref _location, n);
            Array.Resize(ref _group, n);
            Array.Resize(ref _value, n);
            Array.Resize(ref _base, n);
        }

        id = Count++;
        _parent[id] = parent;
        _location[id] = Math.Max(location, 0);
        _group[id] = group;
        _children.Add(key, id);
        return id;
    }

    /// <summary>True for the synthetic label-group nodes.</summary>
    public bool IsGroupRoot(int node) => node > 0 && _parent[node] == 0 && _location[node] == 0 && _group[node] >= 0;
}
