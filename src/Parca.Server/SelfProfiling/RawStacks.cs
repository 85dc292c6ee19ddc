using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace Parca.Server.SelfProfiling;

/// <summary>
/// The distinct stacks of one session as raw code addresses (leaf first), each with a dense id and the values summed
/// over the events that carried it. Filled on the session's reading thread; named once at the end with
/// <see cref="MethodMap"/> (<see cref="AddToAsync"/>), so per-event work is a dictionary lookup.
/// </summary>
internal sealed class RawStacks(int valueCount)
{
    private readonly Dictionary<CallStackIndex, int> _byIndex = [];
    private readonly List<ulong[]> _stacks = [];
    private readonly List<long[]> _values = [];
    private readonly List<ulong> _scratch = [];

    public int Count => _stacks.Count;

    /// <summary>The id of the event's stack, or -1 when it has none.</summary>
    public int Capture(TraceEvent e, TraceLog log)
    {
        var index = log.GetCallStackIndexForEvent(e);
        if (index == CallStackIndex.Invalid)
        {
            return -1;
        }

        if (_byIndex.TryGetValue(index, out var id))
        {
            return id;
        }

        _scratch.Clear();
        var stacks = log.CallStacks;
        var addresses = log.CodeAddresses;
        for (var frame = index; frame != CallStackIndex.Invalid; frame = stacks.Caller(frame))
        {
            _scratch.Add(addresses.Address(stacks.CodeAddressIndex(frame)));
        }

        id = _stacks.Count;
        _stacks.Add([.. _scratch]);
        _values.Add(new long[valueCount]);
        _byIndex[index] = id;
        return id;
    }

    /// <summary>Adds a stack given as addresses, leaf first (benchmarks and tests; sessions use <see cref="Capture"/>).</summary>
    public int AddStack(ulong[] addressesLeafFirst)
    {
        _stacks.Add(addressesLeafFirst);
        _values.Add(new long[valueCount]);
        return _stacks.Count - 1;
    }

    public void Add(int id, ReadOnlySpan<long> values)
    {
        var sums = _values[id];
        for (var i = 0; i < values.Length; i++)
        {
            sums[i] += values[i];
        }
    }

    /// <summary>Sets value <paramref name="target"/> of every stack to value <paramref name="source"/> times <paramref name="factor"/>.</summary>
    public void SetProduct(int target, int source, long factor)
    {
        foreach (var values in _values)
        {
            values[target] = values[source] * factor;
        }
    }

    /// <summary>
    /// Names every stack with <paramref name="methods"/> and adds it to <paramref name="builder"/>. When an address
    /// is unknown, the map is refreshed by a rundown (always the first time, later at most once per <see cref="MethodMap.MinRefreshInterval"/>);
    /// what stays unknown is named "[unknown managed code]" and does not ask for another rundown.
    /// </summary>
    public async Task AddToAsync(SelfProfileBuilder builder, MethodMap methods, CancellationToken cancellationToken)
    {
        if (HasNew(methods))
        {
            if (methods.CanRefresh)
            {
                await methods.RefreshAsync(cancellationToken);
                ForEachLiveAddress(address =>
                {
                    if (methods.IsNew(address))
                    {
                        methods.MarkUnnamed(address);
                    }
                });
            }
        }

        var locations = new List<ulong>();
        for (var id = 0; id < _stacks.Count; id++)
        {
            if (!_values[id].AsSpan().ContainsAnyExcept(0))
            {
                continue;
            }

            locations.Clear();
            foreach (var address in _stacks[id])
            {
                var location = methods.TryResolve(address, out var name, out var module)
                    ? builder.Location(name, module)
                    : builder.Location("[unknown managed code]", "");
                if (locations.Count == 0 || locations[^1] != location)
                {
                    locations.Add(location); // collapse runs of unknown frames
                }
            }

            builder.Add([.. locations], _values[id]);
        }
    }

    private bool HasNew(MethodMap methods)
    {
        var found = false;
        ForEachLiveAddress(address => found |= !found && methods.IsNew(address));
        return found;
    }

    /// <summary>Every address of every stack that has a value.</summary>
    private void ForEachLiveAddress(Action<ulong> action)
    {
        for (var id = 0; id < _stacks.Count; id++)
        {
            if (_values[id].AsSpan().ContainsAnyExcept(0))
            {
                foreach (var address in _stacks[id])
                {
                    action(address);
                }
            }
        }
    }
}
