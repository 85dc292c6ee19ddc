// Scrape targets per job (ScrapeService.Targets) and agents that pushed recently (AgentsService.Agents). Refreshes
// itself every 5 s, so a target going down or coming back shows without a reload.
import { timestampMs } from '@bufbuild/protobuf/wkt';
import type { Duration } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { useEffect, useState } from 'preact/hooks';
import { errorText, type Api } from '../api/client';
import type { Target } from '../gen/parca/scrape/v1alpha1/scrape_pb';
import type { Agent } from '../gen/parca/profilestore/v1alpha1/profilestore_pb';
import { formatAge, formatTimestamp } from '../format/format';

const refreshMs = 5000;
const healthName = (h: number) => ['unknown', 'up', 'down'][h] ?? String(h);
const durationText = (d: Duration | undefined) => (d ? `${(Number(d.seconds) * 1000 + d.nanos / 1e6).toFixed(1)} ms` : '—');

export function TargetsPage({ api }: { api: Api }) {
  const [targets, setTargets] = useState<[string, Target[]][] | null>(null);
  const [agents, setAgents] = useState<Agent[] | null>(null);
  // Per list: why the last refresh failed. The last list that loaded stays on screen; with none, the page says it
  // could not load rather than claiming that nothing is configured.
  const [targetsError, setTargetsError] = useState<string | null>(null);
  const [agentsError, setAgentsError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const id = setInterval(() => setTick((t) => t + 1), refreshMs);
    return () => clearInterval(id);
  }, []);
  useEffect(() => {
    const t = api.scrape.targets({})
      .then((r) => { setTargets(Object.entries(r.targets).map(([job, t]) => [job, t.targets] as [string, Target[]]).sort()); setTargetsError(null); })
      .catch((e) => {
        // A server without the scraper (e.g. started without scrape configuration support) is not an error.
        if (e instanceof ConnectError && e.code === Code.Unimplemented) { setTargets([]); setTargetsError(null); } else setTargetsError(errorText(e));
      });
    const a = api.agents.agents({})
      .then((r) => { setAgents(r.agents); setAgentsError(null); })
      .catch((e) => setAgentsError(errorText(e)));
    void Promise.all([t, a]).then(() => setNow(Date.now()));
  }, [api, tick]);
  const labels = (t: Target) => (t.labels?.labels ?? []).map((l) => <span class="badge" key={l.name}>{l.name}="{l.value}"</span>);
  const when = (ts: Target['lastScrape']) => (ts ? <span title={formatTimestamp(timestampMs(ts))}>{formatAge(timestampMs(ts), now)}</span> : '—');
  return (
    <div class="targets" data-testid="targets-page">
      <div class="row">
        <h2 style={{ margin: '0 8px 0 0' }}>Scrape targets</h2>
        <button data-testid="targets-refresh" onClick={() => setTick((t) => t + 1)} title={`Refreshes every ${refreshMs / 1000} s`}>Refresh</button>
      </div>
      {targetsError && <div class="error" data-testid="targets-error">
        Could not load the scrape targets: {targetsError}{targets ? ' — showing the last list that loaded.' : ''}
        {' '}<button data-testid="targets-retry" onClick={() => setTick((t) => t + 1)}>Retry</button></div>}
      {targets === null ? (targetsError ? null : <p class="hint">Loading…</p>) : targets.length === 0 ? <p class="hint">No scrape jobs are configured (see <code>scrape_configs</code> in parca.yaml).</p> : targets.map(([job, list]) => {
        const up = list.filter((t) => t.health === 1).length;
        return (
          <section key={job} data-testid={`job-${job}`}>
            <h3>{job} <span class="hint" data-testid="job-summary">({up} of {list.length} up)</span></h3>
            <table>
              <thead><tr><th>Endpoint</th><th>Health</th><th>Labels</th><th>Last scrape</th><th>Duration</th><th>Error</th></tr></thead>
              <tbody>{list.map((t) => (
                <tr key={t.url} data-testid="target">
                  <td><a href={t.url} target="_blank" rel="noreferrer">{t.url}</a></td>
                  <td class={t.health === 1 ? 'health-up' : t.health === 2 ? 'health-down' : ''}>{healthName(t.health)}</td>
                  <td>{labels(t)}</td>
                  <td>{when(t.lastScrape)}</td>
                  <td>{durationText(t.lastScrapeDuration)}</td>
                  <td class="target-error">{t.lastError}</td>
                </tr>
              ))}</tbody>
            </table>
          </section>
        );
      })}
      <h2>Agents</h2>
      {agentsError && <div class="error" data-testid="agents-error">Could not load the agents: {agentsError}{agents ? ' — showing the last list that loaded.' : ''}</div>}
      {agents === null ? (agentsError ? null : <p class="hint">Loading…</p>) : agents.length === 0 ? <p class="hint">No agent has pushed profiles in the last 5 minutes.</p> : (
        <table data-testid="agents">
          <thead><tr><th>Agent</th><th>Last push</th><th>Duration</th><th>Last error</th></tr></thead>
          <tbody>{agents.map((a) => (
            <tr key={a.id} data-testid="agent"><td>{a.id}</td><td>{when(a.lastPush)}</td><td>{durationText(a.lastPushDuration)}</td><td class="target-error">{a.lastError}</td></tr>
          ))}</tbody>
        </table>
      )}
    </div>
  );
}
