// Canvas icicle renderer. Cost is bounded by pixels, not nodes: for each visible depth it binary-searches the first
// node inside the zoomed range and, whenever a node is narrower than half a pixel, jumps (again by binary search)
// to the first node that starts in the next pixel column. A million-node graph therefore draws about as fast as a
// graph with one node per pixel.
import type { FlameGraph } from '../arrow/flamegraph';
import { diffColor, type Coloring } from './colors';
import { shortenName } from '../format/format';

export interface View {
  /** The zoomed node: it spans the full width. */
  focus: number;
  /** CSS pixels. */
  width: number;
  rowHeight: number;
  /** Leaf rows at the top (icicle) when false; flame (root at the bottom) when true. */
  flipped: boolean;
}

export interface Style {
  dark: boolean;
  coloring: Coloring;
  /** Search matches; when set, non-matching nodes are dimmed. */
  matches: Uint8Array | null;
  /** Highlighted node (selection from the table or hover). */
  selectedName: number;
  font: string;
  /** Overview drawing (the minimap): no text and no gaps between rows, which are a pixel or two high. */
  overview?: boolean;
}

const minWidthPx = 0.5;
const textPadding = 4;

/** First index i in row [from,to) with x[i] + width[i] > value (rows are sorted and non-overlapping). */
function firstEndingAfter(fg: FlameGraph, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const node = fg.rowNodes[mid];
    if (fg.x[node] + fg.width[node] > value) hi = mid; else lo = mid + 1;
  }
  return lo;
}

/** First index i in row [from,to) with x[i] >= value. */
function firstStartingAtOrAfter(fg: FlameGraph, from: number, to: number, value: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (fg.x[fg.rowNodes[mid]] >= value) hi = mid; else lo = mid + 1;
  }
  return lo;
}

export function canvasHeight(fg: FlameGraph, view: View): number {
  return Math.max(1, fg.height) * view.rowHeight;
}

function rowY(fg: FlameGraph, view: View, depth: number): number {
  return view.flipped ? (fg.height - 1 - depth) * view.rowHeight : depth * view.rowHeight;
}

let s_charWidth = 0;
let s_charFont = '';

/** Draws the graph; returns the number of rectangles drawn (reported by the benchmark). */
export function draw(ctx: CanvasRenderingContext2D, fg: FlameGraph, view: View, style: Style, ellipsis = '…'): number {
  const { width, rowHeight } = view;
  const height = canvasHeight(fg, view);
  // Opaque canvases (alpha: false) turn cleared pixels black: paint the page background instead.
  ctx.fillStyle = style.dark ? '#16181c' : '#ffffff';
  ctx.fillRect(0, 0, width, height);
  if (fg.n === 0) return 0;
  const focus = view.focus >= 0 && view.focus < fg.n ? view.focus : 0;
  const x0 = fg.x[focus];
  const span = fg.width[focus] || 1;
  const scale = width / span;
  const x1 = x0 + span;
  ctx.font = style.font;
  ctx.textBaseline = 'middle';
  if (s_charFont !== style.font) {
    s_charWidth = ctx.measureText('abcdefghijklmnopqrstuvwxyzABCDEFGHIJ._:()').width / 42;
    s_charFont = style.font;
  }
  const text = style.dark ? '#f1f3f5' : '#1d2125';
  const dimText = style.dark ? '#8a9099' : '#7b818a';
  const dimFill = style.dark ? '#30343b' : '#eceef1';
  const { fill, colorIndex } = style.coloring;
  const focusDepth = fg.depth[focus];
  let drawn = 0;
  const labels: { x: number; y: number; w: number; node: number; dim: boolean }[] = [];

  for (let d = 0; d < fg.height; d++) {
    const rowFrom = fg.rowOffsets[d];
    const rowTo = fg.rowOffsets[d + 1];
    const y = rowY(fg, view, d);
    let i = firstEndingAfter(fg, rowFrom, rowTo, x0);
    while (i < rowTo) {
      const node = fg.rowNodes[i];
      const nx = fg.x[node];
      if (nx >= x1) break;
      const nw = fg.width[node];
      let px = (nx - x0) * scale;
      let pw = nw * scale;
      if (px < 0) { pw += px; px = 0; }
      if (px + pw > width) pw = width - px;
      if (pw < minWidthPx) {
        // Skip everything that starts before the next pixel column.
        const nextValue = x0 + (Math.floor(px) + 1) / scale;
        const j = firstStartingAtOrAfter(fg, i + 1, rowTo, nextValue);
        i = j > i ? j : i + 1;
        continue;
      }
      const ancestor = d < focusDepth;
      const dim = (style.matches !== null && style.matches[node] === 0) || ancestor;
      let color: string;
      if (dim) color = dimFill;
      else if (fg.diff) color = diffColor(fg.cumulative[node] - fg.diff[node], fg.cumulative[node], style.dark);
      else color = colorIndex[node] >= 0 ? fill[colorIndex[node]] : fill[fill.length - 1];
      ctx.fillStyle = color;
      if (style.overview) {
        ctx.fillRect(px, y, pw, rowHeight);
        drawn++;
        i++;
        continue;
      }
      // A 1 px gap between neighbours and rows keeps frames distinguishable.
      ctx.fillRect(px, y, pw > 2 ? pw - 1 : pw, rowHeight - 1);
      if (style.selectedName >= 0 && fg.nameId[node] === style.selectedName) {
        ctx.strokeStyle = style.dark ? '#ffffff' : '#000000';
        ctx.lineWidth = 1.5;
        ctx.strokeRect(px + 0.75, y + 0.75, Math.max(0, pw - 2.5), rowHeight - 2.5);
      }
      drawn++;
      if (pw > textPadding * 2 + s_charWidth * 3) labels.push({ x: px, y, w: pw, node, dim });
      i++;
    }
  }
  // Text after all fills: fewer font/state switches.
  for (const l of labels) {
    const name = fg.names[fg.nameId[l.node]];
    const maxChars = Math.floor((l.w - textPadding * 2) / s_charWidth);
    if (maxChars < 3) continue;
    const label = shortenName(name, maxChars, ellipsis); // cuts arguments and qualifiers, keeps the function
    ctx.fillStyle = l.dim ? dimText : text;
    ctx.fillText(label, l.x + textPadding, l.y + rowHeight / 2);
  }
  return drawn;
}

/** The node under a point (CSS pixels relative to the canvas), or -1. */
export function hitTest(fg: FlameGraph, view: View, px: number, py: number): number {
  if (fg.n === 0) return -1;
  const rowIndex = Math.floor(py / view.rowHeight);
  const d = view.flipped ? fg.height - 1 - rowIndex : rowIndex;
  if (d < 0 || d >= fg.height) return -1;
  const focus = view.focus >= 0 && view.focus < fg.n ? view.focus : 0;
  const x0 = fg.x[focus];
  const span = fg.width[focus] || 1;
  const value = x0 + (px / view.width) * span;
  const from = fg.rowOffsets[d];
  const to = fg.rowOffsets[d + 1];
  const i = firstEndingAfter(fg, from, to, value);
  if (i >= to) return -1;
  const node = fg.rowNodes[i];
  if (fg.x[node] > value) return -1;
  // Outside the focused subtree only its ancestors are shown.
  if (d > fg.depth[focus]) {
    let a = node;
    while (a >= 0 && fg.depth[a] > fg.depth[focus]) a = fg.parent[a];
    if (a !== focus) return -1;
  }
  return node;
}
