using Parca.Storage.Internal;

namespace Parca.Storage.Stacks;

/// <summary>
/// Stack traces deduplicated in a parent-pointer tree: node 0 is the root, every other node is (parent, location),
/// and a stack id is the id of its leaf node. A parent's id is always smaller than its children's, so aggregating
/// values bottom-up is one reverse pass over the ids. One writer; readers use <see cref="Snapshot"/>.
/// </summary>
internal sealed class StackTree
{
    private readonly AppendList<int> _parents = new(4096);
    private readonly AppendList<int> _locations = new(4096);
    private readonly Dictionary<long, int> _children = new(4096);
    private readonly Dictionary<ulong, (int Node, ulong Check)> _byContent = new(4096);

    public StackTree()
    {
        _parents.Add(-1);
        _locations.Add(0);
    }

    public int NodeCount => _parents.Count;

    public long EstimatedBytes => (_parents.Count * 8L) + (_children.Count * 24L) + (_byContent.Count * 32L);

    /// <summary>
    /// The stack id of a stack known by the content hash of its locations (see <c>SymbolDb.Prepare</c>): agents resend
    /// the same stacks every window, so in steady state a sample costs one lookup, without resolving its locations or
    /// walking the tree. Both hash lanes must match.
    /// </summary>
    public bool TryGetByContent(Hash128 content, out int stack)
    {
        if (_byContent.TryGetValue(content.Key, out var known) && known.Check == content.Check)
        {
            stack = known.Node;
            return true;
        }

        stack = 0;
        return false;
    }

    /// <summary>Remembers the stack id of a stack's content hash (the latest wins on a key collision).</summary>
    public void RememberContent(Hash128 content, int stack) => _byContent[content.Key] = (stack, content.Check);

    /// <summary>Inserts a stack given leaf first in partition location ids; returns its stack id (leaf node).</summary>
    public int Insert(ReadOnlySpan<int> leafFirst)
    {
        var node = 0;
        for (var i = leafFirst.Length - 1; i >= 0; i--)
        {
            node = Child(node, leafFirst[i]);
        }

        return node;
    }

    /// <summary>The node for <paramref name="location"/> called from <paramref name="parent"/>, added if new.</summary>
    public int Child(int parent, int location)
    {
        var key = ((long)parent << 32) | (uint)location;
        if (!_children.TryGetValue(key, out var child))
        {
            child = _parents.Add(parent);
            _locations.Add(location);
            _children.Add(key, child);
        }

        return child;
    }

    public StackTreeView Snapshot()
    {
        // Locations are published after parents for the same node; read the count from the later list.
        var (locations, n) = _locations.SnapshotArray();
        var (parents, _) = _parents.SnapshotArray();
        return new StackTreeView(parents, locations, n);
    }
}
