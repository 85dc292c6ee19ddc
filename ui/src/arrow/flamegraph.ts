// The flame graph as the UI holds it: one row per node of Parca's FLAMEGRAPH_ARROW record (row 0 = root),
// column-wise in typed arrays, plus the layout the renderer needs (x offset of every node, nodes per depth in
// left-to-right order). Built once per response; zooming and searching only read it.
import { tableFromIPC, type Table } from 'apache-arrow';
import { readBools, readLists, readNumbers, readStrings } from './columns';

export interface FlameGraph {
  n: number;
  unit: string;
  /** Value dropped by the server's node trimming (QueryResponse/FlamegraphArrow trimmed). */
  trimmed: number;
  total: number;
  parent: Int32Array;
  depth: Int32Array;
  cumulative: Float64Array;
  flat: Float64Array;
  /** Present in compare mode: B − A per node (already scaled by the server for relative diffs). */
  diff: Float64Array | null;
  /** Drawn width of every node in value units: cumulative, or A + B in compare mode (so A-only frames show). */
  width: Float64Array;
  /** Left edge of every node in value units (root starts at 0). */
  x: Float64Array;
  /** Children in CSR form, in drawing order. */
  childOffsets: Int32Array;
  children: Int32Array;
  /** Nodes of depth d are rowNodes[rowOffsets[d] .. rowOffsets[d+1]), sorted by x. */
  rowOffsets: Int32Array;
  rowNodes: Int32Array;
  height: number;
  /** Display name id per node (function name, or the address / label set when there is none). */
  nameId: Int32Array;
  names: string[];
  binaryId: Int32Array;
  binaries: string[];
  fileId: Int32Array;
  files: string[];
  /** mapping_build_id per node (absent in graphs derived in the browser, such as the sandwich). */
  buildIdId?: Int32Array;
  buildIds?: string[];
  line: Float64Array;
  address: Float64Array;
  inlined: Uint8Array;
  labelsOnly: Uint8Array;
  /** Profile timestamp (ns) of the labels-only rows of a flame chart (REPORT_TYPE_FLAMECHART); absent otherwise. */
  timestamp?: Float64Array;
}

/** Decodes the Arrow IPC bytes of a FlamegraphArrow report. */
export function decodeFlameGraph(record: Uint8Array, unit: string, trimmed = 0, compare = false): FlameGraph {
  return flameGraphFromTable(tableFromIPC(record), unit, trimmed, compare);
}

export function flameGraphFromTable(table: Table, unit: string, trimmed = 0, compare = false): FlameGraph {
  const n = table.numRows;
  const col = (name: string) => table.getChild(name);
  const parent = Int32Array.from(readNumbers(col('parent'), n, -1));
  if (n > 0) parent[0] = -1;
  const cumulative = readNumbers(col('cumulative'), n);
  const flat = readNumbers(col('flat'), n);
  const diffCol = col('diff');
  const diff = compare && diffCol ? readNumbers(diffCol, n) : null;
  // In a diff record B's rows carry value = diff and A's rows value 0, diff = -value: A = cumulative - diff.
  let width = cumulative;
  if (diff) {
    width = new Float64Array(n);
    for (let i = 0; i < n; i++) width[i] = 2 * cumulative[i] - diff[i];
  }
  const functionNames = readStrings(col('function_name'), n);
  const mapping = readStrings(col('mapping_file'), n);
  const file = readStrings(col('function_file_name'), n);
  const buildIds = readStrings(col('mapping_build_id'), n);
  const line = readNumbers(col('location_line'), n);
  const address = readNumbers(col('location_address'), n);
  const inlined = readBools(col('inlined'), n);
  const labelsOnly = readBools(col('labels_only'), n);
  const valueOffsetCol = col('value_offset');
  const valueOffset = valueOffsetCol ? readNumbers(valueOffsetCol, n) : null;

  // Children: the record's list column when present, otherwise derived from `parent` in row order.
  let lists = readLists(col('children'), n);
  if (!lists) lists = childrenFromParents(parent);

  // Display names: function name, else "0x<address> (binary)" (unsymbolized), else the binary or file (group-by
  // binary/file rows carry no function), else the group-by label set.
  const names = functionNames.strings.slice();
  const nameId = functionNames.ids;
  const extra = new Map<string, number>();
  const labelCols = table.schema.fields.filter((f) => f.name.startsWith('labels.')).map((f) => ({
    key: f.name.slice('labels.'.length), col: readStrings(col(f.name), n),
  }));
  for (let i = 0; i < n; i++) {
    if (nameId[i] >= 0 && names[nameId[i]] !== '') continue;
    let text: string;
    if (i === 0) text = 'root';
    else if (labelsOnly[i] && labelCols.length > 0) {
      const parts: string[] = [];
      for (const l of labelCols) if (l.col.ids[i] >= 0) parts.push(`${l.key}="${l.col.strings[l.col.ids[i]]}"`);
      // Samples without any of the grouped labels form a group of their own.
      text = parts.length > 0 ? `{${parts.join(', ')}}` : `(no ${labelCols.map((l) => l.key).join(', ')} label)`;
    } else if (address[i] !== 0) {
      const bin = mapping.ids[i] >= 0 ? mapping.strings[mapping.ids[i]] : '';
      text = `0x${address[i].toString(16)}${bin ? ` (${bin.slice(bin.lastIndexOf('/') + 1)})` : ''}`;
    } else if (mapping.ids[i] >= 0 && mapping.strings[mapping.ids[i]] !== '') text = mapping.strings[mapping.ids[i]];
    else if (file.ids[i] >= 0 && file.strings[file.ids[i]] !== '') text = file.strings[file.ids[i]];
    else text = '<unknown>';
    let id = extra.get(text);
    if (id === undefined) { id = names.length; names.push(text); extra.set(text, id); }
    nameId[i] = id;
  }

  const fg = layout({
    n, unit, trimmed, parent, cumulative, flat, diff, width, nameId, names,
    binaryId: mapping.ids, binaries: mapping.strings, fileId: file.ids, files: file.strings,
    buildIdId: buildIds.ids, buildIds: buildIds.strings,
    line, address, inlined, labelsOnly, childOffsets: lists.offsets, children: lists.items,
  }, diff ? null : valueOffset);
  const timestamps = col('timestamp');
  if (timestamps && timestamps.nullCount < n) fg.timestamp = readNumbers(timestamps, n);
  return fg;
}

function childrenFromParents(parent: Int32Array): { offsets: Int32Array; items: Int32Array } {
  const n = parent.length;
  const offsets = new Int32Array(n + 1);
  for (let i = 1; i < n; i++) if (parent[i] >= 0) offsets[parent[i] + 1]++;
  for (let i = 0; i < n; i++) offsets[i + 1] += offsets[i];
  const fill = offsets.slice(0, n);
  const items = new Int32Array(Math.max(0, offsets[n]));
  for (let i = 1; i < n; i++) if (parent[i] >= 0) items[fill[parent[i]]++] = i;
  return { offsets, items };
}

type LayoutInput = Omit<FlameGraph, 'x' | 'depth' | 'rowOffsets' | 'rowNodes' | 'height' | 'total'>;

/** Computes depth, x and per-depth rows by one iterative pre-order walk (children in record order). */
export function layout(g: LayoutInput, valueOffset: Float64Array | null = null): FlameGraph {
  const { n, childOffsets, children, width } = g;
  const depth = new Int32Array(n);
  const x = new Float64Array(n);
  const order = new Int32Array(n);
  let visited = 0;
  let height = 0;
  if (n > 0) {
    const stack = new Int32Array(n);
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const node = stack[--sp];
      order[visited++] = node;
      const d = depth[node];
      if (d + 1 > height) height = d + 1;
      const from = childOffsets[node];
      const to = childOffsets[node + 1];
      let offset = x[node];
      for (let k = from; k < to; k++) {
        const c = children[k];
        depth[c] = d + 1;
        x[c] = valueOffset ? x[node] + valueOffset[c] : offset;
        offset += width[c];
      }
      // Push in reverse so the leftmost child is visited first: rows come out sorted by x.
      for (let k = to - 1; k >= from; k--) stack[sp++] = children[k];
    }
  }
  const rowOffsets = new Int32Array(height + 1);
  for (let i = 0; i < visited; i++) rowOffsets[depth[order[i]] + 1]++;
  for (let d = 0; d < height; d++) rowOffsets[d + 1] += rowOffsets[d];
  const fill = rowOffsets.slice(0, height);
  const rowNodes = new Int32Array(visited);
  for (let i = 0; i < visited; i++) {
    const node = order[i];
    rowNodes[fill[depth[node]]++] = node;
  }
  return { ...g, depth, x, rowOffsets, rowNodes, height, total: n > 0 ? g.cumulative[0] : 0 };
}

/** Root-to-node path (root first). */
export function pathTo(fg: FlameGraph, node: number): number[] {
  const path: number[] = [];
  for (let i = node; i >= 0; i = fg.parent[i]) path.push(i);
  return path.reverse();
}

export interface SearchResult {
  /** 1 for nodes whose name matches. */
  matches: Uint8Array;
  /** Value of the matching stacks, each counted once (a match below a match is not added again). */
  matchedValue: number;
  count: number;
}

/**
 * The test the search box means, shared by the flame graph and the table: a case-insensitive substring, or a
 * regular expression when written as /re/ (flags allowed; always case-insensitive). An invalid regex matches nothing.
 */
export function nameMatcher(query: string): (name: string) => boolean {
  const re = /^\/(.+)\/([a-z]*)$/.exec(query);
  if (re) {
    try {
      const r = new RegExp(re[1], re[2].includes('i') ? re[2] : re[2] + 'i');
      return (s) => r.test(s);
    } catch { return () => false; }
  }
  const q = query.toLowerCase();
  return (s) => s.toLowerCase().includes(q);
}

/** Why the search text is not a valid /regex/ (the browser's message), or null when it is fine or not a regex. */
export function searchError(query: string): string | null {
  const re = /^\/(.+)\/([a-z]*)$/.exec(query);
  if (!re) return null;
  try {
    new RegExp(re[1], re[2].includes('i') ? re[2] : re[2] + 'i');
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** Case-insensitive substring (or /regex/) search over node names. */
export function search(fg: FlameGraph, query: string): SearchResult {
  const matches = new Uint8Array(fg.n);
  if (query === '') return { matches, matchedValue: 0, count: 0 };
  const test = nameMatcher(query);
  const nameMatch = new Uint8Array(fg.names.length);
  for (let i = 0; i < fg.names.length; i++) nameMatch[i] = test(fg.names[i]) ? 1 : 0;
  let matchedValue = 0;
  let count = 0;
  // Rows are visited in depth order, so a node's ancestors were decided before it.
  const covered = new Uint8Array(fg.n);
  for (let r = 0; r < fg.rowNodes.length; r++) {
    const node = fg.rowNodes[r];
    const p = fg.parent[node];
    if (p >= 0 && covered[p]) covered[node] = 1;
    if (node !== 0 && nameMatch[fg.nameId[node]]) {
      matches[node] = 1;
      count++;
      if (!covered[node]) { matchedValue += fg.width[node]; covered[node] = 1; }
    }
  }
  return { matches, matchedValue, count };
}
