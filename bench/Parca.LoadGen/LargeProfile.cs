using Parca.Pprof;

namespace Parca.LoadGen;

/// <summary>
/// Synthetic CPU profiles the size of pprof's own <c>large.cpu</c> (20k stacks, about 425k flame-graph nodes) and
/// larger: stacks share a random prefix of an earlier stack and continue with random frames from a pool of
/// C++-looking functions, until the call tree has the asked number of nodes. Deterministic for a seed, so the
/// benchmark, the tests and bench/README.md talk about the same profile.
/// </summary>
public static class LargeProfile
{
    /// <summary>
    /// Builds a profile whose call tree by function (one line per location, no inlining) has <paramref name="nodes"/>
    /// nodes besides the root. With <paramref name="addressesPerFunction"/> above 1 every function has that many
    /// locations (addresses, as a sampling profiler records them) and each frame takes one at random, so the location
    /// tree is larger than the function tree and flame-graph siblings merge, as in real CPU profiles.
    /// </summary>
    public static Profile Generate(int nodes, int seed = 17, int functions = 8000, long timeNanos = 1_700_000_000_000_000_000, int addressesPerFunction = 1)
    {
        var rng = new Random(seed);
        var p = new Profile
        {
            TimeNanos = timeNanos,
            DurationNanos = 10_000_000_000,
            PeriodType = new PprofValueType("cpu", "nanoseconds"),
            Period = 10_000_000,
        };
        p.SampleTypes.Add(new PprofValueType("samples", "count"));
        p.SampleTypes.Add(new PprofValueType("cpu", "nanoseconds"));
        p.Mappings.Add(new Mapping { Id = 1, MemoryStart = 0x400000, MemoryLimit = 0x4000000, Filename = "/usr/bin/large", BuildId = "5f0c6a1e", HasFunctions = true });
        for (var f = 1; f <= functions; f++)
        {
            p.Functions.Add(new Function { Id = (ulong)f, Name = $"ns{f % 37}::Component{f % 211}::method_{f}(int, std::string const&)", SystemName = $"_ZN2ns{f}", Filename = $"src/ns{f % 37}/component{f % 211}.cc", StartLine = f % 997 });
            for (var a = 0; a < addressesPerFunction; a++)
            {
                var id = (ulong)(((f - 1) * addressesPerFunction) + a + 1);
                var loc = new Location { Id = id, MappingId = 1, Address = 0x400000 + ((ulong)f * 64) + ((ulong)a * 4) };
                loc.Lines.Add(new Line((ulong)f, 10 + (f % 500) + a));
                p.Locations.Add(loc);
            }
        }

        var tree = new Dictionary<(int Parent, int Function), int>();
        var stacks = new List<int[]>();
        var count = 0;
        while (count < nodes)
        {
            var depth = 8 + rng.Next(48);
            var stack = new int[depth]; // root first
            var shared = 0;
            if (stacks.Count > 0)
            {
                var other = stacks[rng.Next(stacks.Count)];
                shared = Math.Min(depth - 1, rng.Next(other.Length));
                Array.Copy(other, stack, shared);
            }

            for (var i = shared; i < depth; i++)
            {
                stack[i] = 1 + rng.Next(functions);
            }

            var node = 0;
            for (var i = 0; i < depth; i++)
            {
                if (!tree.TryGetValue((node, stack[i]), out var child))
                {
                    if (count == nodes)
                    {
                        depth = i; // the last stack stops where the tree is full
                        Array.Resize(ref stack, depth);
                        break;
                    }

                    child = ++count;
                    tree.Add((node, stack[i]), child);
                }

                node = child;
            }

            if (depth == 0)
            {
                continue;
            }

            stacks.Add(stack);
            var ids = new ulong[depth];
            for (var i = 0; i < depth; i++)
            {
                var f = stack[depth - 1 - i]; // leaf first
                ids[i] = addressesPerFunction == 1 ? (ulong)f : (ulong)(((f - 1) * addressesPerFunction) + rng.Next(addressesPerFunction) + 1);
            }

            var samples = 1 + rng.Next(rng.Next(4) == 0 ? 400 : 20);
            p.Samples.Add(new Sample { LocationIds = ids, Values = [samples, samples * p.Period] });
        }

        return p;
    }
}
