// Node colours. Categorical colours for binaries/packages come from a fixed palette assigned by weight (the
// heaviest binary gets the first colour, so the legend reads top-down); diff colours use a blue–orange diverging
// scale, which stays distinguishable for the common colour-vision deficiencies (no red/green pair).
import type { FlameGraph } from '../arrow/flamegraph';

export type ColorBy = 'binary' | 'package' | 'none';

const lightPalette = [
  '#f2b36f', '#8ecae6', '#b5d99c', '#f4a7b9', '#c3aed6', '#ffd670', '#9ad1c7', '#e9c46a', '#a3c4f3', '#f7b2ad',
  '#cdb4db', '#bde0fe',
];
const darkPalette = [
  '#9c5f1c', '#2f6f8f', '#4f7a35', '#8f4256', '#5f4b80', '#8c6d12', '#2e7468', '#7d6420', '#3d5f93', '#8a4b45',
  '#6a4f7a', '#3b6a8c',
];

export interface Legend { entries: { label: string; color: string; value: number }[] }

export interface Coloring {
  /** Fill colour per node. */
  fill: string[];
  /** Palette index per node (-1: neutral). Kept as numbers so the renderer can batch by colour. */
  colorIndex: Int32Array;
  legend: Legend;
}

/** "System.Collections.Generic.List`1.Add" → "System.Collections.Generic"; "net/http.(*Server).Serve" → "net/http". */
export function packageOf(name: string): string {
  if (name.startsWith('0x') || name.startsWith('<') || name.startsWith('{')) return name.startsWith('0x') ? '(unsymbolized)' : name;
  const cpp = name.indexOf('::');
  if (cpp > 0) return name.slice(0, cpp);
  const slash = name.lastIndexOf('/');
  const rest = name.slice(slash + 1);
  const paren = rest.indexOf('(');
  const head = paren >= 0 ? rest.slice(0, paren) : rest;
  const dot = slash >= 0 ? head.indexOf('.') : head.lastIndexOf('.');
  if (dot <= 0) return slash >= 0 ? name.slice(0, slash + 1 + (dot > 0 ? dot : head.length)) : head;
  const pkg = name.slice(0, slash + 1 + dot);
  // .NET nested types (Outer+Inner, compiler-generated Outer+<Method>d__6 state machines) belong to the outer type.
  const plus = slash < 0 ? pkg.indexOf('+') : -1;
  return plus > 0 ? pkg.slice(0, plus) : pkg;
}

export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

/** Assigns categorical colours by binary or package; keys ranked by the value spent in them. */
export function categoricalColoring(fg: FlameGraph, by: ColorBy, dark: boolean): Coloring {
  const palette = dark ? darkPalette : lightPalette;
  const neutral = dark ? '#555b66' : '#d5d8dd';
  const colorIndex = new Int32Array(fg.n).fill(-1);
  if (by === 'none') return { fill: palette, colorIndex, legend: { entries: [] } };
  let keyOf: Int32Array;
  let keys: string[];
  if (by === 'binary') {
    keys = fg.binaries.map((b) => (b === '' ? '(unknown binary)' : baseName(b)));
    keyOf = fg.binaryId;
  } else {
    const map = new Map<string, number>();
    keys = [];
    const nameKey = new Int32Array(fg.names.length);
    for (let i = 0; i < fg.names.length; i++) {
      const k = packageOf(fg.names[i]);
      let id = map.get(k);
      if (id === undefined) { id = keys.length; keys.push(k); map.set(k, id); }
      nameKey[i] = id;
    }
    keyOf = new Int32Array(fg.n);
    for (let i = 0; i < fg.n; i++) keyOf[i] = nameKey[fg.nameId[i]];
  }
  // Label groups (group by labels) are not code: they stay neutral and out of the legend.
  keyOf = Int32Array.from(keyOf);
  for (let i = 0; i < fg.n; i++) if (fg.labelsOnly[i]) keyOf[i] = -1;
  const weight = new Float64Array(keys.length);
  // Weight = value under each key, counted at the topmost node of a run of the same key (works for inverted graphs).
  for (let i = 1; i < fg.n; i++) {
    const k = keyOf[i];
    if (k >= 0 && (fg.parent[i] <= 0 || keyOf[fg.parent[i]] !== k)) weight[k] += fg.width[i];
  }
  const ranked = [...keys.keys()].sort((a, b) => weight[b] - weight[a]);
  const slot = new Int32Array(keys.length).fill(-1);
  const entries: Legend['entries'] = [];
  ranked.forEach((k, rank) => {
    slot[k] = rank < palette.length ? rank : palette.length - 1 - (k % 3);
    if (rank < palette.length && weight[k] > 0) entries.push({ label: keys[k], color: palette[slot[k]], value: weight[k] });
  });
  for (let i = 1; i < fg.n; i++) colorIndex[i] = keyOf[i] >= 0 ? slot[keyOf[i]] : -1;
  return { fill: [...palette, neutral], colorIndex, legend: { entries } };
}

/**
 * Diff colour of a node: blue when B < A (improvement), orange when B > A (regression), saturation by the
 * relative change, capped at ±100 %. Frames only in A or only in B get the end colours of the scale.
 */
export function diffColor(a: number, b: number, dark: boolean): string {
  if (a === 0 && b === 0) return dark ? '#555b66' : '#d5d8dd';
  const ratio = a === 0 ? 1 : b === 0 ? -1 : Math.max(-1, Math.min(1, (b - a) / a));
  const t = Math.abs(ratio);
  // Interpolate from neutral grey to the end colour.
  const [r0, g0, b0] = dark ? [85, 91, 102] : [220, 222, 226];
  const [r1, g1, b1] = ratio >= 0 ? (dark ? [214, 110, 20] : [230, 120, 30]) : (dark ? [40, 120, 210] : [50, 125, 220]);
  const mix = (x: number, y: number) => Math.round(x + (y - x) * Math.sqrt(t));
  return `rgb(${mix(r0, r1)},${mix(g0, g1)},${mix(b0, b1)})`;
}
