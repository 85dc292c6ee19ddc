using Parca.Query.Engine;

namespace Parca.Query.Tests;

public sealed class PackedKeyMapTests
{
    [Fact]
    public void Agrees_with_a_dictionary_through_growth_for_packed_parent_child_keys()
    {
        var rng = new Random(11);
        using var map = new PackedKeyMap(4); // grows many times
        var expected = new Dictionary<long, int>();
        for (var i = 0; i < 200_000; i++)
        {
            // Small ids on both halves (what XOR-folding hashes crowd) and a few large ones.
            var parent = rng.Next(4) == 0 ? rng.Next(int.MaxValue) : rng.Next(5_000);
            var child = rng.Next(4) == 0 ? -rng.Next(1, 100) : rng.Next(300);
            var key = ((long)parent << 32) | (uint)child;
            ref var value = ref map.GetValueRefOrAddDefault(key, out var exists);
            Assert.Equal(expected.ContainsKey(key), exists);
            if (!exists)
            {
                value = i;
                expected.Add(key, i);
            }
        }

        Assert.Equal(expected.Count, map.Count);
        foreach (var (key, value) in expected)
        {
            Assert.True(map.TryGetValue(key, out var found));
            Assert.Equal(value, found);
        }

        Assert.False(map.TryGetValue((long)int.MaxValue << 32, out _));
    }
}
