// The "top" table and the sandwich view, derived from the flame graph the UI already holds: one pass over the
// tree, so the table, the flame graph and the sandwich always agree and clicking one can select in the others.
import { layout, nameMatcher, type FlameGraph } from '../arrow/flamegraph';

export interface TableRows {
  /** One row per distinct name id that occurs in the graph (root excluded). */
  nameId: Int32Array;
  flat: Float64Array;
  /** Each stack counted once per function, even when the function recurses. */
  cumulative: Float64Array;
  /** Compare mode: B − A of flat and cumulative. */
  flatDiff: Float64Array | null;
  cumulativeDiff: Float64Array | null;
  /** A representative binary per row. */
  binaryId: Int32Array;
}

/**
 * Walks the tree once; recursion is handled by counting how many times a name is on the current path. In an
 * inverted (leaf-first) graph the self value of a function is the total of its nodes right below the root.
 */
export function tableFromFlameGraph(fg: FlameGraph, inverted = false): TableRows {
  const names = fg.names.length;
  const flat = new Float64Array(names);
  const cum = new Float64Array(names);
  const flatDiff = fg.diff ? new Float64Array(names) : null;
  const cumDiff = fg.diff ? new Float64Array(names) : null;
  const seen = new Uint8Array(names);
  const binary = new Int32Array(names).fill(-1);
  const onPath = new Int32Array(names);
  // Iterative DFS with exit markers (encoded as ~node).
  const stack = new Int32Array(fg.n * 2 + 2);
  let sp = 0;
  for (let k = fg.childOffsets[0]; k < fg.childOffsets[1]; k++) stack[sp++] = fg.children[k];
  while (sp > 0) {
    const item = stack[--sp];
    if (item < 0) { onPath[fg.nameId[~item]]--; continue; }
    const node = item;
    // Label groups (group by labels) are not functions: the table shows what is below them, across groups.
    if (fg.labelsOnly[node]) {
      for (let k = fg.childOffsets[node + 1] - 1; k >= fg.childOffsets[node]; k--) stack[sp++] = fg.children[k];
      continue;
    }
    const name = fg.nameId[node];
    seen[name] = 1;
    if (binary[name] < 0) binary[name] = fg.binaryId[node];
    if (inverted) {
      const p = fg.parent[node];
      if (p === 0 || fg.labelsOnly[p]) {
        flat[name] += fg.cumulative[node];
        if (flatDiff && fg.diff) flatDiff[name] += fg.diff[node];
      }
    } else {
      flat[name] += fg.flat[node];
    }
    if (!inverted && flatDiff && fg.diff) {
      // Self diff = node diff minus children's diff.
      let childDiff = 0;
      for (let k = fg.childOffsets[node]; k < fg.childOffsets[node + 1]; k++) childDiff += fg.diff[fg.children[k]];
      flatDiff[name] += fg.diff[node] - childDiff;
    }
    if (onPath[name] === 0) {
      cum[name] += fg.cumulative[node];
      if (cumDiff && fg.diff) cumDiff[name] += fg.diff[node];
    }
    onPath[name]++;
    stack[sp++] = ~node;
    for (let k = fg.childOffsets[node + 1] - 1; k >= fg.childOffsets[node]; k--) stack[sp++] = fg.children[k];
  }
  let count = 0;
  for (let i = 0; i < names; i++) if (seen[i]) count++;
  const rows: TableRows = {
    nameId: new Int32Array(count), flat: new Float64Array(count), cumulative: new Float64Array(count),
    flatDiff: flatDiff ? new Float64Array(count) : null, cumulativeDiff: cumDiff ? new Float64Array(count) : null,
    binaryId: new Int32Array(count),
  };
  let r = 0;
  for (let i = 0; i < names; i++) {
    if (!seen[i]) continue;
    rows.nameId[r] = i; rows.flat[r] = flat[i]; rows.cumulative[r] = cum[i]; rows.binaryId[r] = binary[i];
    if (rows.flatDiff && flatDiff) rows.flatDiff[r] = flatDiff[i];
    if (rows.cumulativeDiff && cumDiff) rows.cumulativeDiff[r] = cumDiff[i];
    r++;
  }
  return rows;
}

export type SortKey = 'name' | 'flat' | 'cumulative' | 'flatDiff' | 'cumulativeDiff';

/** Row indices filtered by a case-insensitive name substring and sorted. */
export function sortRows(fg: FlameGraph, rows: TableRows, key: SortKey, descending: boolean, filter: string): Int32Array {
  // The same matching as the flame graph's search (substring or /regex/), tested once per row.
  const test = filter === '' ? null : nameMatcher(filter);
  const idx: number[] = [];
  for (let r = 0; r < rows.nameId.length; r++) {
    if (!test || test(fg.names[rows.nameId[r]])) idx.push(r);
  }
  const col = key === 'name' ? null : key === 'flat' ? rows.flat : key === 'cumulative' ? rows.cumulative
    : key === 'flatDiff' ? rows.flatDiff : rows.cumulativeDiff;
  const sign = descending ? -1 : 1;
  if (col) idx.sort((a, b) => sign * (col[a] - col[b]) || (fg.names[rows.nameId[a]] < fg.names[rows.nameId[b]] ? -1 : 1));
  else idx.sort((a, b) => sign * (fg.names[rows.nameId[a]] < fg.names[rows.nameId[b]] ? -1 : fg.names[rows.nameId[a]] > fg.names[rows.nameId[b]] ? 1 : 0));
  return Int32Array.from(idx);
}

/** Builds a new graph from paths; `emit` feeds (path of source nodes, value) pairs. Siblings merge on name + binary. */
function graphFromPaths(fg: FlameGraph, rootName: number, emit: (add: (path: number[], value: number, diff: number) => void) => void): FlameGraph {
  const parent: number[] = [-1];
  const nameIdArr: number[] = [rootName];
  const binaryArr: number[] = [-1];
  const cum: number[] = [0];
  const flat: number[] = [0];
  const diff: number[] = [0];
  const src: number[] = [-1];
  const index = new Map<string, number>();
  emit((path, value, d) => {
    let at = 0;
    cum[0] += value; diff[0] += d;
    for (let p = 0; p < path.length; p++) {
      const s = path[p];
      const key = `${at}|${fg.nameId[s]}|${fg.binaryId[s]}`;
      let id = index.get(key);
      if (id === undefined) {
        id = parent.length;
        index.set(key, id);
        parent.push(at); nameIdArr.push(fg.nameId[s]); binaryArr.push(fg.binaryId[s]); cum.push(0); flat.push(0); diff.push(0); src.push(s);
      }
      cum[id] += value; diff[id] += d;
      at = id;
    }
    flat[at] += value;
  });
  const n = parent.length;
  const parentArr = Int32Array.from(parent);
  const childOffsets = new Int32Array(n + 1);
  for (let i = 1; i < n; i++) childOffsets[parentArr[i] + 1]++;
  for (let i = 0; i < n; i++) childOffsets[i + 1] += childOffsets[i];
  const fill = childOffsets.slice(0, n);
  const children = new Int32Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) children[fill[parentArr[i]]++] = i;
  const cumulative = Float64Array.from(cum);
  const diffArr = fg.diff ? Float64Array.from(diff) : null;
  let width = cumulative;
  if (diffArr) width = cumulative.map((c, i) => 2 * c - diffArr[i]);
  const pick = (a: Float64Array) => Float64Array.from(src, (s) => (s >= 0 ? a[s] : 0));
  const pickBytes = (a: Uint8Array) => Uint8Array.from(src, (s) => (s >= 0 ? a[s] : 0));
  return layout({
    n, unit: fg.unit, trimmed: 0, parent: parentArr, cumulative, flat: Float64Array.from(flat), diff: diffArr, width,
    childOffsets, children, nameId: Int32Array.from(nameIdArr), names: fg.names, binaryId: Int32Array.from(binaryArr),
    binaries: fg.binaries, fileId: Int32Array.from(src, (s) => (s >= 0 ? fg.fileId[s] : -1)), files: fg.files,
    line: pick(fg.line), address: pick(fg.address), inlined: pickBytes(fg.inlined), labelsOnly: pickBytes(fg.labelsOnly),
  });
}

/** Topmost occurrences of a name (nodes named `name` without an ancestor of that name). */
function topmost(fg: FlameGraph, name: number): number[] {
  const out: number[] = [];
  const covered = new Uint8Array(fg.n);
  for (let r = 0; r < fg.rowNodes.length; r++) {
    const node = fg.rowNodes[r];
    const p = fg.parent[node];
    if (p >= 0 && covered[p]) { covered[node] = 1; continue; }
    if (node !== 0 && fg.nameId[node] === name) { out.push(node); covered[node] = 1; }
  }
  return out;
}

export interface Sandwich { callers: FlameGraph; callees: FlameGraph }

/**
 * Callers: every path from the function up to the root, merged with the function as the root (draw it flipped so
 * callers stand above). Callees: the function's subtrees merged. Both totals equal the function's cumulative value.
 */
export function sandwich(fg: FlameGraph, name: number): Sandwich {
  const tops = topmost(fg, name);
  const callers = graphFromPaths(fg, name, (add) => {
    for (const node of tops) {
      const path: number[] = [];
      for (let a = fg.parent[node]; a > 0; a = fg.parent[a]) path.push(a);
      add(path, fg.cumulative[node], fg.diff ? fg.diff[node] : 0);
    }
  });
  const callees = graphFromPaths(fg, name, (add) => {
    for (const top of tops) {
      // Every node of the subtree contributes its self value along its path below `top`.
      const stack: number[][] = [[top, 0]];
      const path: number[] = [];
      while (stack.length > 0) {
        const [node, depth] = stack.pop()!;
        path.length = depth;
        if (node !== top) path.push(node);
        let childDiff = 0;
        for (let k = fg.childOffsets[node]; k < fg.childOffsets[node + 1]; k++) {
          const c = fg.children[k];
          if (fg.diff) childDiff += fg.diff[c];
          stack.push([c, node === top ? 0 : depth + 1]);
        }
        const selfDiff = fg.diff ? fg.diff[node] - childDiff : 0;
        if (fg.flat[node] !== 0 || selfDiff !== 0) add(path.slice(), fg.flat[node], selfDiff);
      }
    }
  });
  return { callers, callees };
}

/** The `k` heaviest function names (by their widest node), for suggestions; label groups and the root excluded. */
export function topNames(fg: FlameGraph, k: number): string[] {
  const weight = new Float64Array(fg.names.length);
  for (let i = 1; i < fg.n; i++) {
    if (fg.labelsOnly[i]) continue;
    const id = fg.nameId[i];
    if (fg.width[i] > weight[id]) weight[id] = fg.width[i];
  }
  const ids: number[] = [];
  for (let id = 0; id < weight.length; id++) if (weight[id] > 0) ids.push(id);
  ids.sort((a, b) => weight[b] - weight[a] || (fg.names[a] < fg.names[b] ? -1 : 1));
  return ids.slice(0, k).map((id) => fg.names[id]);
}
