using System.Collections.Concurrent;

namespace Parca.Server.Services;

/// <summary>
/// Agents that pushed recently (AgentsService): keyed by node label and peer address, forgotten after 5 minutes.
/// Bounded: an agent enters only with an accepted write (a refused write only updates an agent already known, so
/// a client cannot fill the registry with made-up node names), at most <c>--max-agents</c> are kept (the least
/// recently seen goes first) and a stored error is cut to <see cref="MaxErrorLength"/> characters.
/// </summary>
internal sealed class AgentRegistry(TimeProvider time, int maxAgents = 10_000)
{
    internal const int MaxErrorLength = 1024;
    private static readonly TimeSpan s_forgetAfter = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, AgentInfo> _agents = new(StringComparer.Ordinal);
    private readonly Lock _evictLock = new();

    public int Count => _agents.Count;

    public void Record(string? node, string? peer, DateTime pushedAt, TimeSpan duration, string? error)
    {
        var id = node is not null && peer is not null ? $"{node} ({peer})" : node ?? peer ?? "unknown";
        if (error is not null)
        {
            if (!_agents.ContainsKey(id))
            {
                return;
            }

            error = error.Length > MaxErrorLength ? error[..MaxErrorLength] + "…" : error;
        }

        _agents[id] = new AgentInfo(id, pushedAt, duration, error ?? "");
        if (_agents.Count > maxAgents)
        {
            Evict();
        }
    }

    private void Evict()
    {
        lock (_evictLock)
        {
            Forget(time.GetUtcNow().UtcDateTime - s_forgetAfter);
            var excess = _agents.Count - maxAgents;
            if (excess <= 0)
            {
                return;
            }

            // Rare (only past the cap): a sort of the snapshot is fine here.
            foreach (var stale in _agents.Values.OrderBy(a => a.LastPush).Take(excess))
            {
                _agents.TryRemove(stale.Id, out _);
            }
        }
    }

    private void Forget(DateTime cutoff)
    {
        foreach (var (id, a) in _agents)
        {
            if (a.LastPush < cutoff)
            {
                _agents.TryRemove(id, out _);
            }
        }
    }

    public IReadOnlyList<AgentInfo> List()
    {
        Forget(time.GetUtcNow().UtcDateTime - s_forgetAfter);
        return [.. _agents.Values.OrderBy(a => a.Id, StringComparer.Ordinal)];
    }
}

internal sealed record AgentInfo(string Id, DateTime LastPush, TimeSpan LastPushDuration, string LastError);
