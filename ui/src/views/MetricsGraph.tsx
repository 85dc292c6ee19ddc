// Metrics over time (QueryRange) drawn with uPlot: one line per series, tooltip with labels, drag to select a
// range (merged profile), click a point to open the profile at that time.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { Series } from '../api/client';
import { formatTimestamp, formatValue } from '../format/format';

const colors = ['#2f6fdb', '#e07b1a', '#1a9a6c', '#c44e8a', '#7a5cc2', '#b8860b', '#1f8fa6', '#8c564b', '#5d6d7e', '#d1495b'];

export interface MetricsGraphProps {
  series: Series[];
  /** Unit of the profile type, used when the series do not carry one (cumulative types). */
  unit: string;
  delta: boolean;
  from: number;
  to: number;
  selection?: [number, number];
  /** A window was brushed. */
  onSelect: (from: number, to: number) => void;
  /** A point was clicked: its series and sample. */
  onPick: (series: Series, point: Series['points'][number]) => void;
  testid: string;
}

function labelText(l: Record<string, string>): string {
  const e = Object.entries(l);
  return e.length === 0 ? 'all' : e.map(([k, v]) => `${k}="${v}"`).join(', ');
}

/** Value shown on the y axis: per second for delta profiles (CPU ns/s = cores), raw otherwise. */
function yUnit(unit: string, delta: boolean): string {
  if (!delta) return unit;
  if (unit === 'nanoseconds') return 'cores';
  return `${unit}/s`;
}

function formatY(v: number, unit: string): string {
  if (unit === 'cores') return `${v.toFixed(v < 10 ? 3 : 1)} cores`;
  if (unit.endsWith('/s')) return `${formatValue(v, unit.slice(0, -2))}/s`;
  return formatValue(v, unit);
}

export function MetricsGraph({ series, unit: typeUnit, delta, from, to, selection, onSelect, onPick, testid }: MetricsGraphProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [tip, setTip] = useState<{ x: number; y: number; html: { time: string; rows: { color: string; label: string; value: string }[] } } | null>(null);
  // Series switched off in the legend, by label text (so the choice survives a refresh of the data).
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const hiddenRef = useRef(hidden);
  hiddenRef.current = hidden;
  const handlers = useRef({ onSelect, onPick });
  const selectionRef = useRef(selection);
  selectionRef.current = selection;
  handlers.current = { onSelect, onPick };

  useEffect(() => {
    const el = host.current!;
    const unit = yUnit(series[0]?.unit || typeUnit, delta);
    // Align every series on the union of timestamps (uPlot wants one x array).
    const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
    const index = new Map(times.map((t, i) => [t, i]));
    const data: (number | null)[][] = [times.map((t) => t / 1000)];
    for (const s of series) {
      const ys: (number | null)[] = new Array(times.length).fill(null);
      for (const p of s.points) ys[index.get(p.t)!] = delta ? p.perSecond : p.value;
      data.push(ys);
    }
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 220,
      scales: { x: { time: true, range: () => [from / 1000, to / 1000] } },
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 7 }, focus: { prox: 24 } },
      focus: { alpha: 0.35 },
      // Tick spacing wide enough for the longest label of each axis ("12:34:56" with a date line, "1.234 cores"), so
      // labels never overlap however narrow the graph is.
      axes: [
        { stroke: getComputedStyle(document.documentElement).getPropertyValue('--fg2') || '#666', grid: { stroke: 'rgba(128,128,128,.15)' }, space: 90 },
        {
          stroke: getComputedStyle(document.documentElement).getPropertyValue('--fg2') || '#666', grid: { stroke: 'rgba(128,128,128,.15)' },
          size: 100, space: 28, values: (_u, vals) => vals.map((v) => formatY(v, unit)),
        },
      ],
      series: [{}, ...series.map((s, i) => ({
        label: labelText(s.labels), stroke: colors[i % colors.length], width: 1.5, points: { show: times.length < 60, size: 5 },
        spanGaps: false, show: !hiddenRef.current.has(labelText(s.labels)),
      }))],
      hooks: {
        // The selected window is painted by the plot itself from the current selection (state), so it is right
        // after a reload, a shared link, a resize or Back, not only after the drag that made it.
        draw: [(u) => {
          const sel = selectionRef.current;
          if (!sel) return;
          const l = Math.max(u.bbox.left, u.valToPos(sel[0] / 1000, 'x', true));
          const r = Math.min(u.bbox.left + u.bbox.width, u.valToPos(sel[1] / 1000, 'x', true));
          if (r < u.bbox.left || l > u.bbox.left + u.bbox.width) return;
          const w = Math.max(3, r - l);
          u.ctx.save();
          u.ctx.fillStyle = 'rgba(224,123,26,.25)';
          u.ctx.fillRect(l, u.bbox.top, w, u.bbox.height);
          u.ctx.fillStyle = '#e07b1a';
          u.ctx.fillRect(l, u.bbox.top, 1, u.bbox.height);
          u.ctx.fillRect(l + w - 1, u.bbox.top, 1, u.bbox.height);
          u.ctx.restore();
        }],
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const a = u.posToVal(u.select.left, 'x') * 1000;
          const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          handlers.current.onSelect(Math.round(a), Math.round(b));
        }],
        setCursor: [(u) => {
          const i = u.cursor.idx;
          if (i == null || u.cursor.left == null || u.cursor.left < 0) { setTip(null); return; }
          const rect = u.over.getBoundingClientRect();
          const rows = series.map((s, k) => ({ s, k, v: data[k + 1][i] }))
            .filter((r) => r.v != null && !hiddenRef.current.has(labelText(r.s.labels)))
            .sort((a, b) => (b.v as number) - (a.v as number))
            .slice(0, 12)
            .map((r) => {
              // A gauge step of several profiles shows its peak; say so, with the step's low.
              const p = r.s.points.find((x) => x.t === times[i]);
              const range = p?.min !== undefined ? ` (peak of ${p.count} profiles, low ${formatY(p.min, unit)})` : '';
              return { color: colors[r.k % colors.length], label: labelText(r.s.labels), value: formatY(r.v as number, unit) + range };
            });
          setTip({ x: rect.left + u.cursor.left + 14, y: rect.top + (u.cursor.top ?? 0) + 14, html: { time: formatTimestamp(times[i]), rows } });
        }],
      },
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    let downX = 0;
    const onDown = (e: MouseEvent) => { downX = e.clientX; };
    const onUp = (e: MouseEvent) => {
      if (Math.abs(e.clientX - downX) > 3) return;
      const i = u.cursor.idx;
      if (i == null) return;
      // The series nearest to the pointer at that time.
      const y = u.posToVal(u.cursor.top ?? 0, 'y');
      let best = -1;
      let bestDist = Infinity;
      for (let k = 0; k < series.length; k++) {
        const v = data[k + 1][i];
        if (v == null || hiddenRef.current.has(labelText(series[k].labels))) continue;
        const dist = Math.abs(v - y);
        if (dist < bestDist) { bestDist = dist; best = k; }
      }
      if (best < 0) return;
      const point = series[best].points.find((p) => p.t === times[i]);
      if (point) handlers.current.onPick(series[best], point);
    };
    u.over.addEventListener('mousedown', onDown);
    u.over.addEventListener('mouseup', onUp);
    u.over.addEventListener('mouseleave', () => setTip(null));
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 220 }));
    ro.observe(el);
    return () => { ro.disconnect(); u.destroy(); plot.current = null; };
  }, [series, delta, from, to, typeUnit]);

  const toggle = (i: number) => {
    const label = labelText(series[i].labels);
    const next = new Set(hidden);
    if (next.has(label)) next.delete(label); else next.add(label);
    setHidden(next);
    plot.current?.setSeries(i + 1, { show: !next.has(label) });
  };

  // Repaint when the selection changes (the draw hook reads it from the ref).
  useEffect(() => { plot.current?.redraw(false); }, [selection?.[0], selection?.[1]]);

  return (
    <div class="graph" data-testid={testid}>
      <div ref={host} />
      {selection && <span hidden data-testid={`${testid}-selection`} data-from={selection[0]} data-to={selection[1]} />}
      {series.length > 1 && (
        <div class="legend" data-testid="series-legend">
          {series.slice(0, 20).map((s, i) => {
            const off = hidden.has(labelText(s.labels));
            return <span key={i} data-testid="legend-item" class={off ? 'off' : ''} onClick={() => toggle(i)} title={off ? 'click to show' : 'click to hide'}>
              <i style={{ background: colors[i % colors.length] }} />{labelText(s.labels)}</span>;
          })}
          {series.length > 20 && <span class="hint">+{series.length - 20} more (hover the graph to see them)</span>}
        </div>
      )}
      {tip && (
        <div class="tooltip" style={{ left: `${Math.min(tip.x, window.innerWidth - 420)}px`, top: `${tip.y}px` }}>
          <div><b>{tip.html.time}</b></div>
          {tip.html.rows.map((r) => <div key={r.label}><i style={{ display: 'inline-block', width: 8, height: 8, background: r.color, marginRight: 6 }} />{r.label}: <b>{r.value}</b></div>)}
          <div class="hint">click: open this profile · drag: merge a range</div>
        </div>
      )}
    </div>
  );
}
