// The top table: flat and cumulative per function with shares, sortable, filtered by the shared search box,
// virtualised (only visible rows exist in the DOM). Clicking a row selects the function in the flame graph.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { FlameGraph } from '../arrow/flamegraph';
import { baseName } from '../flamegraph/colors';
import { formatPercent, formatValue, splitName } from '../format/format';
import { sortRows, tableFromFlameGraph, type SortKey, type TableRows } from '../table/aggregate';

const rowHeight = 22;

export interface TableViewProps {
  graph: FlameGraph;
  search: string;
  /** The graph is leaf-first (invert_call_stack). */
  inverted: boolean;
  sort: string;
  onSort: (sort: string) => void;
  selectedName: number;
  onSelectName: (name: number) => void;
  onSandwich: (name: number) => void;
  /** Untrimmed per-function totals from the server (TABLE_ARROW), used when the graph was trimmed. */
  server?: { graph: FlameGraph; rows: TableRows } | null;
}

export function TableView({ graph, search, inverted, sort, onSort, selectedName, onSelectName, onSandwich, server }: TableViewProps) {
  const fg = server?.graph ?? graph;
  const rows = useMemo(() => server?.rows ?? tableFromFlameGraph(graph, inverted), [graph, inverted, server]);
  const desc = !sort.startsWith('+');
  const key = (sort.replace(/^[+-]/, '') || 'cumulative') as SortKey;
  const order = useMemo(() => sortRows(fg, rows, key, desc, search), [fg, rows, key, desc, search]);
  const [scroll, setScroll] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const total = fg.cumulative[0] || 1;
  const hasBinaries = useMemo(() => fg.binaries.some((b) => b !== ''), [fg]);
  const v = (x: number) => formatValue(x, fg.unit);
  // A function selected elsewhere (flame graph click) scrolls into view.
  useEffect(() => {
    const el = box.current;
    if (!el || selectedName < 0) return;
    const at = order.findIndex((r) => rows.nameId[r] === selectedName);
    if (at < 0) return;
    const top = at * rowHeight;
    if (top < el.scrollTop || top > el.scrollTop + el.clientHeight - 2 * rowHeight) el.scrollTop = Math.max(0, top - el.clientHeight / 3);
  }, [selectedName, order]);
  const first = Math.max(0, Math.floor(scroll / rowHeight) - 10);
  const last = Math.min(order.length, first + 60);
  const header = (k: SortKey, label: string, cls = '') => (
    <th class={cls} onClick={() => onSort(`${k === key && desc ? '+' : '-'}${k}`)} data-testid={`sort-${k}`}>
      {label}{k === key ? (desc ? ' ▼' : ' ▲') : ''}
    </th>
  );
  const diff = (x: number | undefined) => x === undefined ? null : <span class={x > 0 ? 'pos' : x < 0 ? 'neg' : ''}>{x > 0 ? '+' : ''}{v(x)}</span>;
  return (
    <div class="table-wrap" ref={box} onScroll={(e) => setScroll((e.target as HTMLDivElement).scrollTop)} data-testid="table">
      <table class="top">
        <thead>
          <tr>
            {header('flat', 'Flat')}<th>Flat %</th>
            {header('cumulative', 'Cumulative')}<th>Cum %</th>
            {rows.flatDiff && header('flatDiff', 'Flat diff')}
            {rows.cumulativeDiff && header('cumulativeDiff', 'Cum diff')}
            {header('name', 'Name', 'name')}{hasBinaries && <th class="name">Binary</th>}
          </tr>
        </thead>
        <tbody>
          {first > 0 && <tr style={{ height: `${first * rowHeight}px` }} />}
          {Array.from(order.subarray(first, last), (r) => {
            const name = rows.nameId[r];
            return (
              <tr key={name} class={name === selectedName ? 'selected' : ''} onClick={() => onSelectName(name === selectedName ? -1 : name)}
                onDblClick={() => onSandwich(name)} title="click: highlight in the flame graph · double-click: sandwich">
                <td>{v(rows.flat[r])}</td><td>{formatPercent(rows.flat[r], total)}</td>
                <td>{v(rows.cumulative[r])}</td><td>{formatPercent(rows.cumulative[r], total)}</td>
                {rows.flatDiff && <td>{diff(rows.flatDiff[r])}</td>}
                {rows.cumulativeDiff && <td>{diff(rows.cumulativeDiff[r])}</td>}
                <td class="name" title={fg.names[name]}><FunctionName name={fg.names[name]} /></td>
                {hasBinaries && <td class="name">{rows.binaryId[r] >= 0 ? baseName(fg.binaries[rows.binaryId[r]]) : ''}</td>}
              </tr>
            );
          })}
          {last < order.length && <tr style={{ height: `${(order.length - last) * rowHeight}px` }} />}
        </tbody>
      </table>
      {order.length === 0 && <div class="hint">No function matches “{search}”.</div>}
    </div>
  );
}

/** A name whose qualifier gives way first when the column is narrow: the function part stays readable. */
function FunctionName({ name }: { name: string }) {
  const [qualifier, fn] = splitName(name);
  return <span class="fn-name"><span class="qualifier">{qualifier}</span><span class="function">{fn}</span></span>;
}
