// Layout of a flame chart (REPORT_TYPE_FLAMECHART): the server groups the selection by profile timestamp (and the
// chosen label), so the root's children are one labels-only row per (lane, profile). Lanes are the label values
// (e.g. one per thread); within a lane the windows are placed on a time axis. Profiles carry no per-sample times,
// so a window's samples are merged: for CPU time the window is drawn as wide as its busy share.
import type { FlameGraph } from '../arrow/flamegraph';

export interface ChartWindow {
  /** The labels-only node of this profile; its subtree is the window's icicle. */
  node: number;
  /** Profile timestamp (ns). */
  time: number;
  /** Width as a share of the window (1 = the whole window; less for a CPU profile that was partly idle). */
  busy: number;
}

export interface ChartLane { label: string; windows: ChartWindow[]; total: number; depth: number }

export interface ChartLayout {
  lanes: ChartLane[];
  /** Time axis (ns): from the first window's start to the last window's end. */
  from: number;
  to: number;
  /** Length of one profile window (ns): the smallest gap between two profiles of a lane, else 10 s (the agent's). */
  window: number;
}

const defaultWindowNs = 10e9;

export function chartLayout(fg: FlameGraph, timestamps: Float64Array | null): ChartLayout {
  const byLane = new Map<string, ChartLane>();
  if (timestamps && fg.n > 0) {
    for (let k = fg.childOffsets[0]; k < fg.childOffsets[1]; k++) {
      const g = fg.children[k];
      if (!fg.labelsOnly[g] || !(timestamps[g] > 0)) continue;
      const name = fg.names[fg.nameId[g]];
      const label = name.startsWith('{') ? name : 'all samples';
      let lane = byLane.get(label);
      if (!lane) { lane = { label, windows: [], total: 0, depth: 0 }; byLane.set(label, lane); }
      lane.windows.push({ node: g, time: timestamps[g], busy: 1 });
      lane.total += fg.cumulative[g];
    }
  }
  const lanes = [...byLane.values()].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  let window = Infinity;
  let from = Infinity;
  let to = -Infinity;
  for (const lane of lanes) {
    lane.windows.sort((a, b) => a.time - b.time);
    for (let i = 1; i < lane.windows.length; i++) {
      const gap = lane.windows[i].time - lane.windows[i - 1].time;
      if (gap > 0) window = Math.min(window, gap);
    }
  }
  if (!Number.isFinite(window)) window = defaultWindowNs;
  for (const lane of lanes) {
    for (const w of lane.windows) {
      from = Math.min(from, w.time);
      to = Math.max(to, w.time + window);
      if (fg.unit === 'nanoseconds') w.busy = Math.min(1, fg.cumulative[w.node] / window);
    }
    lane.depth = laneDepth(fg, lane);
  }
  return { lanes, from: Number.isFinite(from) ? from : 0, to: Number.isFinite(to) ? to : 0, window };
}

/** Rows below the window nodes: the deepest node of the lane relative to its window. */
function laneDepth(fg: FlameGraph, lane: ChartLane): number {
  let depth = 0;
  const stack: number[] = [];
  for (const w of lane.windows) {
    const base = fg.depth[w.node];
    stack.push(w.node);
    while (stack.length > 0) {
      const node = stack.pop()!;
      depth = Math.max(depth, fg.depth[node] - base);
      for (let k = fg.childOffsets[node]; k < fg.childOffsets[node + 1]; k++) stack.push(fg.children[k]);
    }
  }
  return depth;
}
