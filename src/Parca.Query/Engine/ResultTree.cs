namespace Parca.Query.Engine;

/// <summary>
/// The call tree of a query result on result locations: node 0 is the root; label groups (group_by labels.*) are
/// children of the root with <see cref="Location"/> 0 and a group index. Parent ids are smaller than child ids.
/// <see cref="Value"/> holds the flat value (profile B in a diff), <see cref="Base"/> the flat value of profile A.
/// </summary>
/// <remarks>
/// Finding a child takes a hash lookup, a cache miss per node on large trees. A fold that builds a subtree from
/// nothing, out of one partition whose sibling locations are distinct, needs none: it appends with
/// <see cref="AddFresh"/>, and the index of (parent, location) is brought up to date only when a later fold looks
/// children up (another partition, the diff's other side), so a one-partition merge never hashes.
/// </remarks>
public sealed class ResultTree
{
    private readonly PackedKeyMap _children = new(16);
    private readonly Dictionary<int, int> _groupRoots = [];
    private int _indexed = 1; // nodes [1, _indexed) are in _children
    private bool _complete;
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

    /// <summary>Room for <paramref name="nodes"/> nodes in all, so a large fold does not grow step by step.</summary>
    internal void EnsureCapacity(int nodes)
    {
        if (nodes > _parent.Length)
        {
            Grow(nodes);
        }
    }

    /// <summary>
    /// The tree is built: the child index (only folding needs it) goes back to the pool, so a cached result does not
    /// hold it. Folding into a completed tree is a bug.
    /// </summary>
    internal void Complete()
    {
        _children.Dispose();
        _complete = true;
    }

    internal int GroupRoot(int group)
    {
        if (!_groupRoots.TryGetValue(group, out var id))
        {
            id = Append(0, 0, group);
            _groupRoots.Add(group, id);
        }

        return id;
    }

    /// <summary>The child of <paramref name="parent"/> at <paramref name="location"/>, added when absent.</summary>
    internal int Child(int parent, int location)
    {
        if (_indexed < Count)
        {
            IndexNewNodes();
        }

        ref var id = ref _children.GetValueRefOrAddDefault(Key(parent, location), out var exists);
        if (!exists)
        {
            id = Append(parent, location, _group[parent]);
            _indexed = Count;
        }

        return id;
    }

    /// <summary>
    /// Appends a child the caller knows is new: <paramref name="parent"/> was itself appended by the same fold, or
    /// is a subtree root nothing was folded into yet, and the fold's sibling locations are distinct.
    /// </summary>
    internal int AddFresh(int parent, int location) => Append(parent, location, _group[parent]);

    private static long Key(int parent, int location) => ((long)parent << 32) | (uint)location;

    private void IndexNewNodes()
    {
        _children.EnsureCapacity(Count);
        for (var n = _indexed; n < Count; n++)
        {
            if (!IsGroupRoot(n))
            {
                _children.GetValueRefOrAddDefault(Key(_parent[n], _location[n]), out _) = n;
            }
        }

        _indexed = Count;
    }

    private int Append(int parent, int location, int group)
    {
        if (_complete)
        {
            throw new InvalidOperationException("the result tree is complete: nothing can be folded into it");
        }

        if (Count == _parent.Length)
        {
            Grow(Count * 2);
        }

        var id = Count++;
        _parent[id] = parent;
        _location[id] = location;
        _group[id] = group;
        return id;
    }

    private void Grow(int nodes)
    {
        Array.Resize(ref _parent, nodes);
        Array.Resize(ref _location, nodes);
        Array.Resize(ref _group, nodes);
        Array.Resize(ref _value, nodes);
        Array.Resize(ref _base, nodes);
    }

    /// <summary>True for the synthetic label-group nodes.</summary>
    public bool IsGroupRoot(int node) => node > 0 && _parent[node] == 0 && _location[node] == 0 && _group[node] >= 0;
}
