// The flame chart panel: one lane per value of the chosen label (e.g. thread), time left to right, every profile
// window drawn as its own icicle at its time (see flamegraph/chart.ts). Hover shows the frame and the window's time.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { FlameGraph } from '../arrow/flamegraph';
import { chartLayout, type ChartLane, type ChartLayout } from '../flamegraph/chart';
import { categoricalColoring, type Coloring } from '../flamegraph/colors';
import { formatTimestamp, formatValue, shortenName } from '../format/format';

const rowHeight = 16;
const font = '10px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const charWidth = 6.1;

export interface FlameChartViewProps { graph: FlameGraph; dark: boolean }

interface Hit { x: number; y: number; w: number; node: number; time: number }

export function FlameChartView({ graph: fg, dark }: FlameChartViewProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const layout = useMemo(() => chartLayout(fg, fg.timestamp ?? null), [fg]);
  const coloring = useMemo(() => categoricalColoring(fg, 'package', dark), [fg, dark]);
  const [hover, setHover] = useState<{ node: number; time: number; x: number; y: number } | null>(null);

  useLayoutEffect(() => {
    const el = wrap.current!;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, el.clientWidth - 2)));
    ro.observe(el);
    setWidth(Math.max(200, el.clientWidth - 2));
    return () => ro.disconnect();
  }, [layout.lanes.length > 0]); // the empty state and the chart are different elements

  if (layout.lanes.length === 0) {
    return <div class="empty" data-testid="flamechart-empty" ref={wrap}>No profile in this selection has a timestamp to chart.</div>;
  }
  return (
    <div data-testid="flamechart" ref={wrap}>
      <TimeAxis layout={layout} width={width} />
      {layout.lanes.map((lane) => (
        <div class="chart-lane" key={lane.label} data-testid="flamechart-lane" data-label={lane.label} data-windows={lane.windows.length}>
          <div class="chart-lane-head">{lane.label} · {formatValue(lane.total, fg.unit)}</div>
          <LaneCanvas fg={fg} lane={lane} layout={layout} width={width} coloring={coloring} dark={dark}
            onHover={(h) => setHover(h)} />
        </div>
      ))}
      {hover && (
        <div class="fg-tooltip" data-testid="flamechart-tooltip" style={{ left: `${Math.min(hover.x + 14, window.innerWidth - 540)}px`, top: `${hover.y + 14}px` }}>
          <div class="name">{fg.names[fg.nameId[hover.node]]}</div>
          <table>
            <tr><td>Total</td><td>{formatValue(fg.cumulative[hover.node], fg.unit)}</td></tr>
            <tr><td>Self</td><td>{formatValue(fg.flat[hover.node], fg.unit)}</td></tr>
            <tr><td>Window</td><td>{formatTimestamp(hover.time / 1e6)} + {formatValue(layout.window, 'nanoseconds')}</td></tr>
          </table>
        </div>
      )}
    </div>
  );
}

function TimeAxis({ layout, width }: { layout: ChartLayout; width: number }) {
  const span = layout.to - layout.from || 1;
  // About one label per 140 px, so labels never overlap.
  const ticks = Math.max(2, Math.floor(width / 140));
  return (
    <div class="chart-axis" style={{ width: `${width}px` }}>
      {Array.from({ length: ticks }, (_, i) => {
        const t = layout.from + (span * i) / ticks;
        return <span key={i} style={{ left: `${(i / ticks) * width}px` }}>{formatTimestamp(t / 1e6).slice(11)}</span>;
      })}
    </div>
  );
}

function LaneCanvas({ fg, lane, layout, width, coloring, dark, onHover }: {
  fg: FlameGraph; lane: ChartLane; layout: ChartLayout; width: number; coloring: Coloring; dark: boolean;
  onHover: (h: { node: number; time: number; x: number; y: number } | null) => void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const hits = useRef<Hit[]>([]);
  const height = Math.max(1, lane.depth) * rowHeight;
  useEffect(() => {
    const c = canvas.current!;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
    const ctx = c.getContext('2d', { alpha: false })!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    hits.current = drawLane(ctx, fg, lane, layout, width, height, coloring, dark);
    c.dataset.drawn = String(hits.current.length);
  }, [fg, lane, layout, width, height, coloring, dark]);
  const at = (e: MouseEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    return hits.current.find((h) => x >= h.x && x < h.x + h.w && y >= h.y && y < h.y + rowHeight);
  };
  return <canvas ref={canvas} data-testid="flamechart-canvas"
    onMouseMove={(e) => { const h = at(e); onHover(h ? { node: h.node, time: h.time, x: e.clientX, y: e.clientY } : null); }}
    onMouseLeave={() => onHover(null)} />;
}

/** Draws every window of a lane; returns the rectangles drawn (for hit testing), bounded by the pixels. */
function drawLane(ctx: CanvasRenderingContext2D, fg: FlameGraph, lane: ChartLane, layout: ChartLayout, width: number, height: number, coloring: Coloring, dark: boolean): Hit[] {
  ctx.fillStyle = dark ? '#16181c' : '#ffffff';
  ctx.fillRect(0, 0, width, height);
  ctx.font = font;
  ctx.textBaseline = 'middle';
  const span = layout.to - layout.from || 1;
  const hits: Hit[] = [];
  const { fill, colorIndex } = coloring;
  for (const w of lane.windows) {
    const x0 = ((w.time - layout.from) / span) * width;
    const ww = (layout.window / span) * width * w.busy;
    const root = w.node;
    const scale = ww / (fg.width[root] || 1);
    const base = fg.depth[root];
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      const px = x0 + (fg.x[node] - fg.x[root]) * scale;
      const pw = fg.width[node] * scale;
      if (pw < 0.5) continue; // its children are narrower still
      if (node !== root) {
        const y = (fg.depth[node] - base - 1) * rowHeight;
        ctx.fillStyle = colorIndex[node] >= 0 ? fill[colorIndex[node]] : fill[fill.length - 1];
        ctx.fillRect(px, y, pw > 2 ? pw - 1 : pw, rowHeight - 1);
        hits.push({ x: px, y, w: pw, node, time: w.time });
        const chars = Math.floor((pw - 6) / charWidth);
        if (chars >= 3) {
          ctx.fillStyle = dark ? '#f1f3f5' : '#1d2125';
          ctx.fillText(shortenName(fg.names[fg.nameId[node]], chars), px + 3, y + rowHeight / 2);
        }
      }
      for (let k = fg.childOffsets[node]; k < fg.childOffsets[node + 1]; k++) stack.push(fg.children[k]);
    }
  }
  return hits;
}
