// The profile explorer: one side (A) or two (A/B compare), each a query bar and a metrics graph, and below them
// the selected profile (or the diff of both selections).
import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorText, isNotFound, labelNames, latestSampleTime, profileTypes, queryRange, type Api, type Series } from '../api/client';
import { formatAge, formatTimestamp, parseRelative } from '../format/format';
import { defaultProfileType, diffProblem, parseProfileTypeKey, resultUnit } from '../format/profileTypes';
import { parseSelector, formatSelector } from '../state/selector';
import { absoluteRange, type SideState, type ViewState } from '../state/url';
import { MetricsGraph } from './MetricsGraph';
import { ProfileView } from './ProfileView';
import { QueryBar } from './QueryBar';

export interface ExplorerProps { api: Api; state: ViewState; setState: (s: ViewState, push?: boolean) => void; dark: boolean }

export function Explorer({ api, state, setState, dark }: ExplorerProps) {
  const [types, setTypes] = useState<string[] | null>(null);
  const [typesError, setTypesError] = useState<string | null>(null);
  const [refreshKey, setRefreshKey] = useState(0);
  const [hasDataA, setHasDataA] = useState(true);
  const [now, setNow] = useState(() => Date.now());
  const refresh = () => { setNow(Date.now()); setRefreshKey((k) => k + 1); };

  useEffect(() => {
    profileTypes(api).then((t) => { setTypes(t); setTypesError(null); }).catch((e) => { setTypes([]); setTypesError(errorText(e)); });
  }, [api, refreshKey]);

  // Pick the first type for a new visitor so the graph shows something at once.
  useEffect(() => {
    if (types && types.length > 0 && state.a.expression === '') {
      const preferred = defaultProfileType(types) ?? types[0];
      setState({ ...state, a: { ...state.a, expression: `${preferred}{}` } }, false);
    }
  }, [types]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'r') refresh();
      else if (e.key === 'c') toggleCompare();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const toggleCompare = () => {
    if (state.compare) setState({ ...state, compare: false }, true);
    // B starts on A's query and range, without a selection: the user picks what to compare against.
    else setState({ ...state, compare: true, b: { ...state.a, mergeFrom: undefined, mergeTo: undefined, selection: undefined } }, true);
  };

  const sel = (s: SideState) => (s.mergeFrom !== undefined && s.mergeTo !== undefined && s.expression
    ? { query: s.selection || s.expression, from: s.mergeFrom, to: s.mergeTo } : null);
  const a = sel(state.a);
  const b = state.compare ? sel(state.b) : null;
  const mismatch = state.compare ? diffProblem(state.a.expression.split('{')[0], state.b.expression.split('{')[0]) : null;
  // A link or reload that names a profile loads it at once, while the type list (needed only by the query bars)
  // is still on its way: one round trip less before the flame graph. The view keeps its place in the tree when
  // the list arrives, so it is not asked for again.
  const known = types !== null && !typesError && types.length > 0;
  const showProfile = a && (!state.compare || b) && !mismatch && (types === null || known);
  return (
    <div>
      {types === null ? <p class="hint">Loading…</p>
        : typesError ? <div class="error" data-testid="types-error">Could not list profile types: {typesError}</div>
        : types.length === 0 ? <EmptyState />
        : (
          <>
            <div class="row" style={{ marginBottom: '8px' }}>
              <button data-testid="compare" class={state.compare ? 'active' : ''} onClick={toggleCompare} title="Compare two profiles (c)">
                {state.compare ? 'Stop comparing' : 'Compare'}
              </button>
              {state.compare && <span class="hint">Select a profile on both sides: B is compared against A.</span>}
            </div>
            <div class={`sides ${state.compare ? 'compare' : ''}`}>
              <Side api={api} label={state.compare ? 'A' : ''} side={state.a} types={types} now={now} refreshKey={refreshKey}
                onChange={(s) => setState({ ...state, a: s, focus: [] })} onRefresh={refresh} testid="side-a" onHasData={setHasDataA} />
              {state.compare && (
                <Side api={api} label="B" side={state.b} types={types} now={now} refreshKey={refreshKey}
                  onChange={(s) => setState({ ...state, b: s, focus: [] })} onRefresh={refresh} testid="side-b" />
              )}
            </div>
          </>
        )}
      {known && mismatch && <div class="error" data-testid="diff-mismatch">Cannot compare these profiles: {mismatch}</div>}
      {showProfile && a ? <ProfileView api={api} a={a} b={b} state={state} setState={setState} dark={dark} refreshKey={refreshKey} /> : null}
      {known && state.compare && a && !b && <p class="hint">Now select a point or a range on side B.</p>}
      {known && !a && state.a.expression && hasDataA && <p class="hint" data-testid="pick-hint">Click a point in the graph to open that profile, or drag across it to merge a range.</p>}
    </div>
  );
}

interface SideProps {
  api: Api; label: string; side: SideState; types: string[]; now: number; refreshKey: number;
  onChange: (s: SideState) => void; onRefresh: () => void; testid: string; onHasData?: (has: boolean) => void;
}

function Side({ api, label, side, types, now, refreshKey, onChange, onRefresh, testid, onHasData }: SideProps) {
  const range = useMemo(() => absoluteRange(side.range, now, parseRelative), [side.range.relative, side.range.from, side.range.to, now]);
  const [series, setSeries] = useState<Series[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [sumByOptions, setSumByOptions] = useState<string[]>([]);
  const type = side.expression.split('{')[0];
  const info = parseProfileTypeKey(type);
  // Parca's default: split by process (comm), else namespace, else container, when the data has those labels.
  const sumBy = side.sumBy ?? defaultSumBy(sumByOptions);

  useEffect(() => {
    if (!type) return;
    labelNames(api, type, [], range[0], range[1]).then(setSumByOptions).catch(() => setSumByOptions([]));
  }, [type, range[0], range[1], refreshKey]);

  useEffect(() => {
    if (!side.expression) return;
    let cancelled = false;
    setError(null);
    // About one point per 10 px of graph width.
    const step = Math.max(1000, (range[1] - range[0]) / 120);
    queryRange(api, side.expression, range[0], range[1], step, sumBy)
      .then((s) => { if (!cancelled) setSeries(s); })
      .catch((e) => { if (!cancelled) { setSeries([]); setError(isNotFound(e) ? null : errorText(e)); } });
    return () => { cancelled = true; };
  }, [side.expression, range[0], range[1], sumBy.join(','), refreshKey]);

  useEffect(() => onHasData?.(series === null || series.length > 0), [series]);
  // An empty range: look for the newest profile of this query, so old recordings are one click away.
  const [latest, setLatest] = useState<number | null | undefined>(undefined);
  useEffect(() => {
    setLatest(undefined);
    if (!series || series.length > 0 || error) return;
    let cancelled = false;
    latestSampleTime(api, side.expression, Date.now()).then((t) => { if (!cancelled) setLatest(t ?? null); }).catch(() => { if (!cancelled) setLatest(null); });
    return () => { cancelled = true; };
  }, [series, error]);

  const selection: [number, number] | undefined = side.mergeFrom !== undefined && side.mergeTo !== undefined ? [side.mergeFrom, side.mergeTo] : undefined;
  return (
    <div class="side">
      {label && <h3>{label}</h3>}
      <QueryBar api={api} side={{ ...side, sumBy }} types={types} range={range} sumByOptions={sumByOptions} onChange={onChange} onRefresh={onRefresh} testid={`${testid}-query`} />
      {error && <div class="error" data-testid="range-error">{error}</div>}
      {series && series.length === 0 && !error && (
        <div class="empty" data-testid="no-series">
          No samples for this query in the selected time range.{' '}
          {latest === undefined ? <span class="hint">Looking for the newest profile…</span>
            : latest === null ? 'No profile matches it at any time: remove label matchers or pick another profile type.'
            : <>The newest one is from <b>{formatTimestamp(latest)}</b> ({formatAge(latest, Date.now())}).{' '}
              <button class="primary" data-testid="jump-latest" onClick={() => onChange({ ...side, range: { from: latest - 55 * 60_000, to: latest + 5 * 60_000 }, mergeFrom: undefined, mergeTo: undefined, selection: undefined })}>
                Show the hour up to it</button></>}
        </div>
      )}
      {series && series.length > 0 && (
        <MetricsGraph testid={`${testid}-graph`} series={series} unit={info ? resultUnit(info) : ''} delta={info?.delta ?? false} from={range[0]} to={range[1]} selection={selection}
          onSelect={(from, to) => onChange({ ...side, mergeFrom: from, mergeTo: to, selection: undefined })}
          onPick={(s, p) => {
            // Delta profiles cover [t, t + duration]; cumulative ones are one scrape at exactly t.
            const to = info?.delta && p.duration > 0 ? p.t + Math.round(p.duration / 1e6) : p.t;
            let selection: string | undefined;
            try {
              const parsed = parseSelector(side.expression);
              const extra = Object.entries(s.labels).filter(([k]) => !parsed.matchers.some((m) => m.name === k));
              if (extra.length > 0) selection = formatSelector({ ...parsed, matchers: [...parsed.matchers, ...extra.map(([name, value]) => ({ name, op: '=' as const, value }))] });
            } catch { /* keep the plain expression */ }
            onChange({ ...side, mergeFrom: p.t, mergeTo: to, selection });
          }} />
      )}
    </div>
  );
}

export function defaultSumBy(labels: string[]): string[] {
  const pick = ['comm', 'namespace', 'container'].find((l) => labels.includes(l));
  return pick ? [pick] : [];
}

function EmptyState() {
  const origin = `${location.origin}${window.PATH_PREFIX ?? ''}`;
  return (
    <div class="empty" data-testid="empty-state">
      <h2>No profiles yet</h2>
      <p>Parca is running, but it has not received any profile. Send it data in one of these ways:</p>
      <ol>
        <li><b>Scrape a program</b> that serves Go-style pprof endpoints (<code>/debug/pprof/profile</code>, <code>/debug/pprof/heap</code>): add it under <code>scrape_configs</code> in <code>parca.yaml</code>:
          <pre>{`scrape_configs:
  - job_name: my-app
    scrape_interval: 10s
    static_configs:
      - targets: ['127.0.0.1:6060']`}</pre></li>
        <li><b>Run the agent</b> on a host to profile every process with eBPF: <pre>{`parca-agent --remote-store-address=${location.host} --remote-store-insecure`}</pre></li>
        <li><b>Push a pprof file</b> you already have (any <code>profile.pb.gz</code>, e.g. from Go's <code>/debug/pprof/profile</code>):
          <pre>{`curl -H 'Content-Type: application/octet-stream' --data-binary @cpu.pb.gz '${origin}/ingest?name=process_cpu&job=my-app'`}</pre>
          or through Parca's gRPC API (<code>ProfileStoreService/WriteRaw</code>, what <code>parca-push</code> and older agents use).</li>
      </ol>
      <p class="hint">This page refreshes its list when you press <kbd>r</kbd>.</p>
    </div>
  );
}
