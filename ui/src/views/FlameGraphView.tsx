// The flame graph panel: canvas icicle with zoom (click), breadcrumb, search highlight with match share,
// tooltip, context menu, colour legend and the trimming indicator.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { pathTo, search, type FlameGraph } from '../arrow/flamegraph';
import { baseName, categoricalColoring, diffColor, type ColorBy } from '../flamegraph/colors';
import { canvasHeight, draw, hitTest, type View } from '../flamegraph/render';
import { copyText } from '../format/clipboard';
import type { ProfileFilter } from '../state/filters';
import { formatDiffPercent, formatPercent, formatValue } from '../format/format';
import { sourceRefOf, type SourceRef } from '../source/source';
import { Minimap, minimapMinDepth } from './Minimap';

export interface FlameGraphViewProps {
  graph: FlameGraph;
  colorBy: ColorBy;
  dark: boolean;
  search: string;
  focusPath: string[];
  onFocusPath?: (path: string[]) => void;
  selectedName: number;
  onSelectName?: (name: number) => void;
  onShowTable?: (name: number) => void;
  onShowSandwich?: (name: number) => void;
  onAddFilter?: (filter: ProfileFilter) => void;
  /** "View source": the frame's file of its build, at its line (only frames with a build id, file and line). */
  onShowSource?: (source: SourceRef) => void;
  /** Root at the bottom (used for the callers half of the sandwich). */
  flipped?: boolean;
  testid: string;
  title?: string;
}

const font = '11px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const rowHeight = 18;

/** Resolves a path of names (from the URL) to a node; stops at the deepest match. */
function nodeForPath(fg: FlameGraph, path: string[]): number {
  let node = 0;
  for (const name of path) {
    let next = -1;
    for (let k = fg.childOffsets[node]; k < fg.childOffsets[node + 1]; k++) {
      const c = fg.children[k];
      if (fg.names[fg.nameId[c]] === name) { next = c; break; }
    }
    if (next < 0) break;
    node = next;
  }
  return node;
}

export function FlameGraphView(p: FlameGraphViewProps) {
  const { graph: fg } = p;
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const [localFocus, setLocalFocus] = useState<string[]>(p.focusPath);
  const focusPath = p.onFocusPath ? p.focusPath : localFocus;
  const setFocusPath = p.onFocusPath ?? setLocalFocus;
  const focus = useMemo(() => nodeForPath(fg, focusPath), [fg, focusPath.join('\u001f')]);
  const [hover, setHover] = useState<{ node: number; x: number; y: number } | null>(null);
  const [menu, setMenu] = useState<{ node: number; x: number; y: number } | null>(null);
  // One binary (or none known) makes binary colours useless: colour by package instead, and say so.
  const coloring = useMemo(() => {
    const c = categoricalColoring(fg, p.colorBy, p.dark);
    if (p.colorBy === 'binary' && c.legend.entries.length <= 1) {
      const byPackage = categoricalColoring(fg, 'package', p.dark);
      const only = c.legend.entries[0]?.label ?? '';
      return { ...byPackage, fallback: only === '(unknown binary)' ? '' : only };
    }
    return { ...c, fallback: null as string | null };
  }, [fg, p.colorBy, p.dark]);
  const found = useMemo(() => search(fg, p.search), [fg, p.search]);
  const view: View = { focus, width, rowHeight, flipped: !!p.flipped };

  useLayoutEffect(() => {
    const el = wrap.current!;
    const ro = new ResizeObserver(() => setWidth(Math.max(100, el.clientWidth - 2)));
    ro.observe(el);
    setWidth(Math.max(100, el.clientWidth - 2));
    return () => ro.disconnect();
  }, []);

  // Drawn in the layout effect, in the same task as the render: the graph appears in the frame that shows the panel.
  // (A passive effect plus requestAnimationFrame put one to two frames between the data and the picture, ~200 ms on
  // a loaded machine in e2e/large.e2e.ts.) Drawing is bounded by pixels, not nodes, so it does not hold the frame up.
  useLayoutEffect(() => {
    const c = canvas.current!;
    const dpr = window.devicePixelRatio || 1;
    const h = canvasHeight(fg, view);
    c.width = Math.round(width * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = `${width}px`;
    c.style.height = `${h}px`;
    const ctx = c.getContext('2d', { alpha: false })!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const t0 = performance.now();
    const drawn = draw(ctx, fg, view, {
      dark: p.dark, coloring, matches: p.search ? found.matches : null, selectedName: p.selectedName, font,
    });
    c.dataset.drawn = String(drawn);
    c.dataset.drawMs = (performance.now() - t0).toFixed(2);
    // The latest draw only (one entry per panel, however long the page lives).
    performance.clearMeasures(`${p.testid} draw`);
    performance.measure(`${p.testid} draw`, { start: t0, end: performance.now() });
  }, [fg, width, focus, p.dark, coloring, found, p.search, p.selectedName, p.flipped]);

  const nodeAt = (e: MouseEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    return hitTest(fg, view, e.clientX - r.left, e.clientY - r.top);
  };
  const zoomTo = (node: number) => setFocusPath(node <= 0 ? [] : pathTo(fg, node).slice(1).map((i) => fg.names[fg.nameId[i]]));

  useEffect(() => {
    const close = () => setMenu(null);
    window.addEventListener('click', close);
    return () => window.removeEventListener('click', close);
  }, []);

  const crumbs = pathTo(fg, focus);
  const total = fg.width[0] || 1;
  const valueText = (v: number) => formatValue(v, fg.unit);
  const legend = fg.diff ? null : coloring.legend.entries;

  return (
    <div data-testid={p.testid}>
      {p.title && <h4>{p.title}</h4>}
      <div class="crumbs" data-testid="breadcrumb">
        {crumbs.map((n, i) => (
          <>
            {i > 0 && <span class="sep">›</span>}
            <button key={n} title={fg.names[fg.nameId[n]]} onClick={() => zoomTo(n)}>{shorten(fg.names[fg.nameId[n]])}</button>
          </>
        ))}
      </div>
      <div class="status" data-testid="fg-status">
        <button class="png" title="Save the flame graph as a PNG image" data-testid="save-png" onClick={() => {
          canvas.current?.toBlob((blob) => {
            if (!blob) return;
            const a = document.createElement('a');
            a.href = URL.createObjectURL(blob);
            a.download = 'flamegraph.png';
            a.click();
            setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
          });
        }}>PNG</button>{' '}
        {valueText(fg.total)} total · {fg.n.toLocaleString()} nodes
        {p.search && <span data-testid="match-share"> · “{p.search}”: {found.count.toLocaleString()} frames, {formatPercent(found.matchedValue, total)} of total</span>}
        {fg.trimmed > 0 && <span data-testid="trimmed" title="Nodes smaller than the trimming threshold were dropped by the server."> · trimmed {valueText(fg.trimmed)} ({formatPercent(fg.trimmed, fg.total)} of the total, in frames below the threshold)</span>}
      </div>
      {fg.height >= minimapMinDepth && (
        <Minimap graph={fg} coloring={coloring} dark={p.dark} width={width} focus={focus} flipped={!!p.flipped} main={canvas.current} mainRowHeight={rowHeight} />
      )}
      <div class="fg-canvas-wrap" ref={wrap}>
        <canvas ref={canvas} class="fg" data-testid="flamegraph-canvas"
          onMouseMove={(e) => { const node = nodeAt(e); setHover(node >= 0 ? { node, x: e.clientX, y: e.clientY } : null); }}
          onMouseLeave={() => setHover(null)}
          onClick={(e) => { const node = nodeAt(e); if (node >= 0) { zoomTo(node); p.onSelectName?.(fg.nameId[node]); } }}
          onContextMenu={(e) => { const node = nodeAt(e); if (node > 0) { e.preventDefault(); setMenu({ node, x: e.clientX, y: e.clientY }); setHover(null); } }} />
      </div>
      {legend && legend.length > 0 && (
        <div class="legend" data-testid="legend">
          {coloring.fallback !== null && <span class="hint">{coloring.fallback ? `all frames in ${coloring.fallback}` : 'no binary information'}: coloured by package ·</span>}
          {legend.map((l) => <span key={l.label}><i style={{ background: l.color }} />{l.label}</span>)}
        </div>
      )}
      {fg.diff && (
        <div class="legend" data-testid="diff-legend">
          <span><i style={{ background: diffColor(1, 0, p.dark) }} />only in A / decreased</span>
          <span class="gradient" style={{ background: `linear-gradient(to right, ${diffColor(1, 0, p.dark)}, ${diffColor(1, 1, p.dark)}, ${diffColor(0, 1, p.dark)})` }} />
          <span><i style={{ background: diffColor(0, 1, p.dark) }} />only in B / increased</span>
          <span class="hint">width = A + B</span>
        </div>
      )}
      {hover && !menu && <Tooltip fg={fg} node={hover.node} x={hover.x} y={hover.y} />}
      {menu && (
        <div class="menu" data-testid="context-menu" style={{ left: `${menu.x}px`, top: `${menu.y}px` }} onClick={(e) => e.stopPropagation()}>
          <div onClick={() => { void copyText(fg.names[fg.nameId[menu.node]]); setMenu(null); }}>Copy function name</div>
          <div onClick={() => { zoomTo(menu.node); setMenu(null); }}>Focus on this frame</div>
          {p.onShowTable && <div onClick={() => { p.onShowTable!(fg.nameId[menu.node]); setMenu(null); }}>Show in table</div>}
          {p.onShowSandwich && <div onClick={() => { p.onShowSandwich!(fg.nameId[menu.node]); setMenu(null); }}>Show in sandwich</div>}
          {p.onShowSource && (() => {
            const ref = sourceRefOf(fg, menu.node);
            return ref
              ? <div data-testid="view-source" onClick={() => { p.onShowSource!(ref); setMenu(null); }}>View source</div>
              : <div class="disabled" title="The frame has no build id, file or line">View source</div>;
          })()}
          {p.onAddFilter && menu.node !== 0 && !fg.labelsOnly[menu.node] && (() => {
            const name = fg.names[fg.nameId[menu.node]];
            const add = (f: ProfileFilter) => { p.onAddFilter!(f); setMenu(null); };
            const binary = fg.binaryId[menu.node] >= 0 ? baseName(fg.binaries[fg.binaryId[menu.node]]) : '';
            return (
              <>
                <div onClick={() => add({ action: 'hide', field: 'function_name', op: 'equal', value: name })}>Hide this function</div>
                <div onClick={() => add({ action: 'drop', field: 'function_name', op: 'equal', value: name })}>Drop stacks through this function</div>
                <div onClick={() => add({ action: 'keep', field: 'function_name', op: 'equal', value: name })}>Keep only stacks through this function</div>
                {binary && <div onClick={() => add({ action: 'hide', field: 'binary', op: 'equal', value: binary })}>Hide binary {binary}</div>}
              </>
            );
          })()}
          <div onClick={() => { zoomTo(0); setMenu(null); }}>Reset zoom</div>
        </div>
      )}
    </div>
  );
}

function shorten(name: string): string {
  return name.length > 40 ? name.slice(0, 18) + '…' + name.slice(-20) : name;
}

function Tooltip({ fg, node, x, y }: { fg: FlameGraph; node: number; x: number; y: number }) {
  const v = (n: number) => formatValue(n, fg.unit);
  const total = fg.cumulative[0] || 1;
  const parent = fg.parent[node];
  const file = fg.fileId[node] >= 0 ? fg.files[fg.fileId[node]] : '';
  const binary = fg.binaryId[node] >= 0 ? fg.binaries[fg.binaryId[node]] : '';
  const a = fg.diff ? fg.cumulative[node] - fg.diff[node] : 0;
  return (
    <div class="fg-tooltip" data-testid="fg-tooltip" style={{ left: `${Math.min(x + 14, window.innerWidth - 540)}px`, top: `${Math.min(y + 14, window.innerHeight - 200)}px` }}>
      <div class="name">{fg.names[fg.nameId[node]]}</div>
      <table>
        {fg.diff ? (
          <>
            <tr><td>A (before)</td><td>{v(a)}</td></tr>
            <tr><td>B (after)</td><td>{v(fg.cumulative[node])}</td></tr>
            <tr><td>Change</td><td class={fg.diff[node] > 0 ? 'pos' : fg.diff[node] < 0 ? 'neg' : ''}>{fg.diff[node] > 0 ? '+' : ''}{v(fg.diff[node])} ({a === 0 && fg.cumulative[node] > 0 ? 'only in B' : fg.cumulative[node] === 0 ? 'only in A' : formatDiffPercent(fg.diff[node], fg.cumulative[node])})</td></tr>
          </>
        ) : (
          <>
            <tr><td>Total</td><td>{v(fg.cumulative[node])} ({formatPercent(fg.cumulative[node], total)})</td></tr>
            <tr><td>Self</td><td>{v(fg.flat[node])} ({formatPercent(fg.flat[node], total)})</td></tr>
            {parent >= 0 && <tr><td>Of parent</td><td>{formatPercent(fg.cumulative[node], fg.cumulative[parent])}</td></tr>}
          </>
        )}
        {binary && <tr><td>Binary</td><td>{binary}</td></tr>}
        {file && <tr><td>File</td><td>{file}{fg.line[node] > 0 ? `:${fg.line[node]}` : ''}</td></tr>}
        {fg.address[node] > 0 && <tr><td>Address</td><td>0x{fg.address[node].toString(16)}</td></tr>}
        {fg.inlined[node] === 1 && <tr><td>Inlined</td><td>yes</td></tr>}
      </table>
      <div class="hint">click: zoom · right-click: more</div>
    </div>
  );
}
