// One profile (merge of a window) or a diff of two: toolbar, flame graph, table and sandwich panels.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { errorText, queryFlameChart, queryFlameGraph, queryMetadata, queryPprof, querySandwich, queryTable, type Api, type FlameResult, type ProfileMetadataResult, type ProfileSelection } from '../api/client';
import type { ColorBy } from '../flamegraph/colors';
import { copyText } from '../format/clipboard';
import { formatPercent, formatTimestamp, formatValue, parseRelative } from '../format/format';
import { sandwich, topNames, type Sandwich, type TableRows } from '../table/aggregate';
import { rowsFromServerTable, type ServerTable } from '../table/serverTable';
import { searchError, type FlameGraph } from '../arrow/flamegraph';
import { encodeState, nextGroupBy, withAbsoluteTime, type Dashboard, type GroupBy, type ViewState } from '../state/url';
import type { ProfileFilter } from '../state/filters';
import { FiltersPanel } from './FiltersPanel';
import { FlameChartView } from './FlameChartView';
import { FlameGraphView } from './FlameGraphView';
import { MultiSelect } from './MultiSelect';
import { SourceView } from './SourceView';
import { TableView } from './TableView';

export interface ProfileViewProps {
  api: Api;
  a: ProfileSelection;
  b: ProfileSelection | null;
  state: ViewState;
  setState: (s: ViewState, push?: boolean) => void;
  dark: boolean;
  refreshKey: number;
}

const groupByLevels: [GroupBy, string][] = [
  ['function_name', 'Function'], ['mapping_file', 'Binary'], ['function_file_name', 'File'], ['location_address', 'Address'],
];

export function ProfileView({ api, a, b, state, setState, dark, refreshKey }: ProfileViewProps) {
  const [result, setResult] = useState<FlameResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [selectedName, setSelectedName] = useState(-1);
  const [notice, setNotice] = useState('');
  const [searchText, setSearchText] = useState(state.search);
  // An invalid /regex/ matches nothing; say why instead of showing an empty search.
  const searchProblem = useMemo(() => searchError(searchText), [searchText]);
  useEffect(() => setSearchText(state.search), [state.search]);

  const [metadata, setMetadata] = useState<ProfileMetadataResult>({ labels: [], mappingFiles: [] });
  const [filtersOpen, setFiltersOpen] = useState(false);
  const options = { groupBy: state.groupBy, invert: state.invert, absolute: state.absolute, filters: state.filters, trim: effectiveTrim(state.trim) };
  // Retry asks again with the same view; the last good result stays on screen meanwhile and after a failure.
  const [retries, setRetries] = useState(0);
  const key = JSON.stringify([a, b, options, refreshKey, retries]);
  // Label names and binaries of the selection feed the group-by and filter menus. Asked for only once one of those
  // menus was used (it costs the server another merge of the selection); from then on with every selection.
  const [wantMetadata, setWantMetadata] = useState(() => state.groupBy.some((g) => g.startsWith('labels.')) || state.filters.length > 0);
  const [metadataLoading, setMetadataLoading] = useState(false);
  useEffect(() => {
    if (!wantMetadata) return;
    const ctl = new AbortController();
    setMetadataLoading(true);
    queryMetadata(api, a, b, ctl.signal)
      .then((m) => { setMetadata(m); setMetadataLoading(false); })
      .catch(() => { if (!ctl.signal.aborted) { setMetadata({ labels: [], mappingFiles: [] }); setMetadataLoading(false); } });
    return () => ctl.abort();
  }, [JSON.stringify([a, b, refreshKey]), wantMetadata]);
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    setError(null);
    queryFlameGraph(api, a, b, options, ctl.signal)
      .then((r) => { setResult(r); setLoading(false); })
      .catch((e) => { if (!ctl.signal.aborted) { setError(errorText(e)); setLoading(false); } });
    return () => ctl.abort();
  }, [key]);

  // A trimmed graph lost the flat values of what it dropped: the table then shows the server's untrimmed totals.
  const [serverTable, setServerTable] = useState<{ key: string; table: ServerTable } | null>(null);
  const needServerTable = result !== null && result.graph.trimmed !== 0 && state.dashboard.includes('table');
  useEffect(() => {
    if (!needServerTable || serverTable?.key === key) return;
    const ctl = new AbortController();
    queryTable(api, a, b, options, ctl.signal)
      .then((table) => setServerTable({ key, table }))
      .catch((e) => { if (!ctl.signal.aborted) setError(`Table: ${errorText(e)}`); });
    return () => ctl.abort();
  }, [key, needServerTable]);
  const tableSource = useMemo<{ graph: FlameGraph; rows: TableRows } | null>(
    () => (result && needServerTable && serverTable?.key === key ? rowsFromServerTable(result.graph, serverTable.table) : null),
    [result, serverTable, needServerTable]);

  // The flame chart: delta profiles only (as Parca: a cumulative profile has no per-window samples to place in time).
  const canChart = b === null && /:delta(\{|$)/.test(a.query);
  const wantChart = canChart && state.dashboard.includes('flamechart');
  const chartKey = JSON.stringify([key, state.flamechartDimension]);
  const [chart, setChart] = useState<{ key: string; graph: FlameGraph } | null>(null);
  const [chartError, setChartError] = useState<string | null>(null);
  useEffect(() => {
    if (!wantChart || chart?.key === chartKey) return;
    const ctl = new AbortController();
    setChartError(null);
    queryFlameChart(api, a, options, state.flamechartDimension, ctl.signal)
      .then((graph) => setChart({ key: chartKey, graph }))
      .catch((e) => { if (!ctl.signal.aborted) setChartError(errorText(e)); });
    return () => ctl.abort();
  }, [chartKey, wantChart]);
  useEffect(() => { if (wantChart) setWantMetadata(true); }, [wantChart]);

  const set = (patch: Partial<ViewState>, push?: boolean) => setState({ ...state, ...patch }, push);
  const toggleDash = (d: Dashboard) => {
    const has = state.dashboard.includes(d);
    const next = has ? state.dashboard.filter((x) => x !== d) : [...state.dashboard, d];
    set({ dashboard: next.length > 0 ? next : ['flamegraph'] });
  };
  const graph = result?.graph ?? null;
  // Computed only while the filter form is open (one pass over the nodes).
  const functionSuggestions = useMemo(() => (graph && filtersOpen ? topNames(graph, 300) : []), [graph, filtersOpen]);
  // A trimmed graph lost some of the function's callers and callees: the server then builds both halves from the
  // untrimmed profile. An untrimmed graph has them all, and the sandwich is computed here without another request.
  const needServerSandwich = result !== null && result.graph.trimmed !== 0 && state.sandwich !== '' && state.dashboard.includes('sandwich');
  const sandwichKey = JSON.stringify([key, state.sandwich]);
  const [serverSandwich, setServerSandwich] = useState<{ key: string; graphs: Sandwich } | null>(null);
  useEffect(() => {
    if (!needServerSandwich || serverSandwich?.key === sandwichKey) return;
    const ctl = new AbortController();
    querySandwich(api, a, b, options, state.sandwich, ctl.signal)
      .then((graphs) => setServerSandwich({ key: sandwichKey, graphs }))
      .catch((e) => { if (!ctl.signal.aborted) setError(`Sandwich: ${errorText(e)}`); });
    return () => ctl.abort();
  }, [sandwichKey, needServerSandwich]);
  const sandwichName = useMemo(() => (graph && state.sandwich ? graph.names.indexOf(state.sandwich) : -1), [graph, state.sandwich]);
  const localSandwich = useMemo(() => (graph && !needServerSandwich && sandwichName >= 0 ? sandwich(graph, sandwichName) : null), [graph, sandwichName, needServerSandwich]);
  const sandwichGraphs = needServerSandwich ? (serverSandwich?.key === sandwichKey ? serverSandwich.graphs : null) : localSandwich;
  const showSandwich = (name: number) => {
    if (!graph) return;
    set({ sandwich: graph.names[name], dashboard: state.dashboard.includes('sandwich') ? state.dashboard : [...state.dashboard, 'sandwich'] });
  };

  const download = async () => {
    try {
      const bytes = await queryPprof(api, a, b, options);
      const blob = new Blob([bytes as BlobPart], { type: 'application/octet-stream' });
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `profile-${new Date(a.from).toISOString().replace(/[:.]/g, '-')}.pb.gz`;
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) { setError(`Download: ${errorText(e)}`); }
  };
  // Shared links carry absolute time: "last 15 minutes" would show the recipient another window.
  const copyLink = async () => {
    const qs = encodeState(withAbsoluteTime(state, Date.now(), parseRelative));
    const href = `${location.origin}${location.pathname}${qs ? `?${qs}` : ''}`;
    setNotice((await copyText(href)) ? 'Link copied' : href);
    setTimeout(() => setNotice(''), 4000);
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) {
        if (e.key === 'Escape') (t as HTMLInputElement).blur();
        return;
      }
      if (e.key === '/') { (document.querySelector('[data-testid="search"]') as HTMLInputElement | null)?.focus(); e.preventDefault(); }
      else if (e.key === 'Escape' && state.focus.length > 0) set({ focus: state.focus.slice(0, -1) });
      else if (e.key === '0') set({ focus: [] });
      else if (e.key === 'i') set({ invert: !state.invert, focus: [] });
      else if (e.key === 't') toggleDash('table');
      else if (e.key === 's') toggleDash('sandwich');
      else if (e.key === 'l') void copyLink();
      else if (e.key === 'f') { setWantMetadata(true); setFiltersOpen(true); requestAnimationFrame(() => (document.querySelector('[data-testid="filter-value"]') as HTMLInputElement | null)?.focus()); e.preventDefault(); }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const commonFlame = {
    colorBy: state.colorBy as ColorBy, dark, search: state.search, selectedName,
    onSelectName: setSelectedName, onShowSandwich: showSandwich,
  };
  const panels = state.dashboard;
  return (
    <div data-testid="profile-view">
      <div class="toolbar">
        <span class="status" data-testid="profile-title">
          {b ? 'Diff' : 'Profile'} {formatTimestamp(a.from)}{a.to !== a.from ? ` – ${formatTimestamp(a.to)}` : ''}
          {b ? ` vs ${formatTimestamp(b.from)}${b.to !== b.from ? ` – ${formatTimestamp(b.to)}` : ''}` : ''}
        </span>
        <MultiSelect label="Group by" testid="group-by" placeholder="Function" selected={state.groupBy} onOpen={() => setWantMetadata(true)}
          onChange={(g) => set({ groupBy: nextGroupBy(g), focus: [] })}
          sections={[
            { title: 'Frames', options: groupByLevels.map(([value, label]) => ({ value, label })) },
            { title: 'Labels', options: [...new Set([...metadata.labels, ...state.groupBy.filter((g) => g.startsWith('labels.')).map((g) => g.slice(7))])].map((l) => ({ value: `labels.${l}`, label: l })), empty: metadataLoading ? 'loading…' : 'no labels in this profile' },
          ]} />
        <label><input type="checkbox" data-testid="invert" checked={state.invert} onChange={() => set({ invert: !state.invert, focus: [] })} /> Invert</label>
        {!b && <label>Colour by <select data-testid="color-by" value={state.colorBy} onChange={(e) => set({ colorBy: (e.target as HTMLSelectElement).value as ViewState['colorBy'] })}>
          <option value="binary">Binary</option><option value="package">Package</option><option value="none">None</option>
        </select></label>}
        {b && <label>Diff <select data-testid="diff-mode" value={state.absolute ? 'absolute' : 'relative'} onChange={(e) => set({ absolute: (e.target as HTMLSelectElement).value === 'absolute' })}>
          <option value="relative">Relative (scale to equal totals)</option><option value="absolute">Absolute</option>
        </select></label>}
        <label>Trim <select data-testid="trim" value={String(state.trim)} onChange={(e) => set({ trim: Number((e.target as HTMLSelectElement).value) })}>
          <option value="-1">auto (&lt; 1 px)</option><option value="0">off</option><option value="0.01">&lt; 0.01%</option><option value="0.1">&lt; 0.1%</option><option value="1">&lt; 1%</option>
        </select></label>
        <input data-testid="search" placeholder="Search frames (/), /regex/" value={searchText} class={searchProblem ? 'invalid' : ''}
          onInput={(e) => { const v = (e.target as HTMLInputElement).value; setSearchText(v); set({ search: v }); }} />
        {searchProblem && <span class="inline-error" data-testid="search-error">{searchProblem}</span>}
        <button data-testid="toggle-filters" class={filtersOpen ? 'active' : ''} onClick={() => { setWantMetadata(true); setFiltersOpen(!filtersOpen); }} title="Stack and frame filters (f)">
          Filters{state.filters.length > 0 ? ` (${state.filters.length})` : ''}
        </button>
        <button class={panels.includes('flamegraph') ? 'active' : ''} onClick={() => toggleDash('flamegraph')}>Flame graph</button>
        <button class={panels.includes('table') ? 'active' : ''} data-testid="toggle-table" onClick={() => toggleDash('table')}>Table</button>
        <button class={panels.includes('sandwich') ? 'active' : ''} data-testid="toggle-sandwich" onClick={() => toggleDash('sandwich')}>Sandwich</button>
        {canChart && <button class={panels.includes('flamechart') ? 'active' : ''} data-testid="toggle-flamechart" onClick={() => toggleDash('flamechart')}
          title="Samples in time order, one lane per value of a label">Flame chart</button>}
        <button data-testid="download" onClick={download} title="Download the profile as pprof (gzipped protobuf)">Download pprof</button>
        <button data-testid="copy-link" onClick={copyLink} title="Copy a link to this exact view (l)">Copy link</button>
        {notice && <span class="status" data-testid="notice">{notice}</span>}
      </div>
      <FiltersPanel filters={state.filters} onChange={(filters: ProfileFilter[]) => set({ filters, focus: [] })} binaries={metadata.mappingFiles}
        functions={functionSuggestions} open={filtersOpen} onOpen={setFiltersOpen} />
      {result && state.filters.length > 0 && !loading && <FilteredNote result={result} />}
      {result && !loading && <TrimNote result={result} />}
      {error && <div class="error" data-testid="profile-error">{error}{result ? ' — showing the last profile that loaded.' : ''}
        {' '}<button data-testid="retry" onClick={() => { setError(null); setRetries(retries + 1); }}>Retry</button></div>}
      {loading && <div class="status" data-testid="loading">Loading profile…</div>}
      {graph && graph.n <= 1 && !loading && <div class="empty">This selection has no samples. Pick another point or a wider range.</div>}
      {graph && graph.n > 1 && (
        <div class={`panels ${panels.includes('table') && panels.includes('flamegraph') ? (b ? 'two even' : 'two') : ''}`}>
          {panels.includes('flamegraph') && (
            <div class="panel">
              <FlameGraphView {...commonFlame} graph={graph} testid="flamegraph" focusPath={state.focus}
                onFocusPath={(focus) => set({ focus })}
                onShowTable={(name) => { setSelectedName(name); set({ search: graph.names[name], dashboard: panels.includes('table') ? panels : [...panels, 'table'] }); }}
                onAddFilter={(f) => set({ filters: [...state.filters.filter((g) => JSON.stringify(g) !== JSON.stringify(f)), f], focus: [] })}
                onShowSource={(source) => set({ source }, true)} />
            </div>
          )}
          {panels.includes('table') && (
            <div class="panel">
              {needServerTable && !tableSource ? <div class="status" data-testid="table-loading">Loading the untrimmed table…</div> : null}
              <TableView graph={graph} server={tableSource} search={state.search} inverted={state.invert} sort={state.sort} onSort={(sort) => set({ sort })}
                selectedName={selectedName} onSelectName={setSelectedName} onSandwich={showSandwich} />
            </div>
          )}
        </div>
      )}
      {state.source && (
        <SourceView api={api} a={a} b={b} options={options} source={state.source} dark={dark} refreshKey={refreshKey}
          onClose={() => set({ source: null }, true)} />
      )}
      {graph && graph.n > 1 && panels.includes('sandwich') && (
        <div class="panel" data-testid="sandwich" style={{ marginTop: '12px' }}>
          <h4>Sandwich {state.sandwich ? `· ${state.sandwich}` : ''}</h4>
          {!sandwichGraphs ? (needServerSandwich
            ? <div class="status" data-testid="sandwich-loading">Loading the untrimmed sandwich…</div>
            : <p class="hint">Right-click a frame and choose “Show in sandwich”, or double-click a table row.</p>) : (
            <>
              <FlameGraphView {...commonFlame} graph={sandwichGraphs.callers} flipped testid="sandwich-callers" title="Callers" focusPath={[]} />
              <FlameGraphView {...commonFlame} graph={sandwichGraphs.callees} testid="sandwich-callees" title="Callees" focusPath={[]} />
            </>
          )}
        </div>
      )}
      {wantChart && (
        <div class="panel" data-testid="flamechart-panel" style={{ marginTop: '12px' }}>
          <h4>Flame chart{' '}
            <label class="hint">lanes by <select data-testid="flamechart-dimension" value={state.flamechartDimension}
              onChange={(e) => set({ flamechartDimension: (e.target as HTMLSelectElement).value })}>
              <option value="">(one lane)</option>
              {[...new Set([...metadata.labels, ...(state.flamechartDimension ? [state.flamechartDimension] : [])])].map((l) => <option key={l} value={l}>{l}</option>)}
            </select></label>
          </h4>
          {chartError && <div class="error" data-testid="flamechart-error">{chartError}</div>}
          {chart?.key === chartKey ? <FlameChartView graph={chart.graph} dark={dark} />
            : !chartError && <div class="status" data-testid="flamechart-loading">Loading the flame chart…</div>}
        </div>
      )}
    </div>
  );
}

/** How much the stack filters removed: the server's `filtered` of its `total` (both before frame hiding). */
function FilteredNote({ result }: { result: FlameResult }) {
  const { total, filtered, graph } = result;
  if (total <= 0) return null;
  // `total` and `filtered` are in the profile's sample unit; the graph's total is what was kept, in the same unit.
  const kept = total - filtered;
  const scale = kept > 0 && graph.total > 0 ? graph.total / kept : 1;
  return (
    <div class="filtered-note" data-testid="filtered">
      {filtered > 0
        ? <>Filters removed <b>{formatPercent(filtered, total)}</b> ({formatValue(filtered * scale, graph.unit)}) of {formatValue(total * scale, graph.unit)}; {formatPercent(kept, total)} shown.</>
        : <>Filters removed no stacks: all of {formatValue(total * scale, graph.unit)} shown (frame filters only hide frames).</>}
    </div>
  );
}

/**
 * The trim threshold sent to the server: -1 is "auto", Parca's default of one pixel of the flame graph (nodes
 * narrower than a pixel cannot be drawn); rounded so that the request, and so the cache key, stays the same while
 * the window is resized a little.
 */
export function effectiveTrim(trim: number, width = typeof window !== 'undefined' ? window.innerWidth : 1600): number | undefined {
  if (trim > 0) return trim;
  if (trim < 0) return Number((100 / Math.max(200, width)).toPrecision(1));
  return undefined;
}

/** What trimming dropped, and why the server trimmed more than asked (it must fit the message limit). */
function TrimNote({ result }: { result: FlameResult }) {
  const { graph, trimReason, keptNodes, totalNodes } = result;
  if (graph.trimmed === 0 && !trimReason) return null;
  return (
    <div class={trimReason ? 'error' : 'filtered-note'} data-testid="trim-note">
      Trimmed {formatPercent(graph.trimmed, graph.cumulative[0] || 1)} of the total ({formatValue(graph.trimmed, graph.unit)}):
      {' '}{keptNodes.toLocaleString('en-US')} of {totalNodes.toLocaleString('en-US')} nodes drawn, nodes under {result.appliedTrim.toPrecision(2)}% left out. The table shows untrimmed totals.
      {trimReason && <> {trimReason}.</>}
    </div>
  );
}
