// Builds Arrow records in Parca's FLAMEGRAPH_ARROW column layout (parca-server.md §4.6) from plain stacks or
// from a generated tree. Used by the unit tests and the browser benchmark; the app itself only decodes.
import {
  Binary, Bool, Dictionary, Field, Int32, Int64, List, Table, Uint32, Uint64, makeData, makeVector,
  tableToIPC, type Vector, type DataType,
} from 'apache-arrow';

/** `labelsOnly`: a label-group node (group by labels), as the server emits them right below the root. */
export interface Frame { name: string; binary?: string; buildId?: string; file?: string; line?: number; address?: number; labelsOnly?: boolean }
export interface Stack { frames: (string | Frame)[]; value: number; diff?: number }

interface Node {
  frame: Frame; cumulative: number; flat: number; diff: number; children: Node[]; byKey: Map<string, Node>;
}

const enc = new TextEncoder();

let s_dictionaryId = 0;

function dictVector(values: string[], ids: Int32Array): Vector {
  const dictData = binaryData(values);
  const type = new Dictionary(new Binary(), new Int32(), s_dictionaryId++, false);
  const dictionary = makeVector(dictData);
  return makeVector(makeData({ type, length: ids.length, data: ids, dictionary }));
}

function binaryData(values: string[]) {
  const encoded = values.map((v) => enc.encode(v));
  const offsets = new Int32Array(values.length + 1);
  for (let i = 0; i < encoded.length; i++) offsets[i + 1] = offsets[i] + encoded[i].length;
  const bytes = new Uint8Array(offsets[values.length]);
  for (let i = 0; i < encoded.length; i++) bytes.set(encoded[i], offsets[i]);
  return makeData({ type: new Binary(), length: values.length, valueOffsets: offsets, data: bytes });
}

export interface Columns {
  n: number;
  parent: Int32Array;
  cumulative: Float64Array;
  flat: Float64Array;
  diff?: Float64Array;
  depth: Int32Array;
  /** CSR children (the record's list<uint32> column). */
  childOffsets: Int32Array;
  children: Uint32Array;
  name: string[]; nameIds: Int32Array;
  binary: string[]; binaryIds: Int32Array;
  file: string[]; fileIds: Int32Array;
  /** mapping_build_id (all '' when absent). */
  buildId?: string[]; buildIdIds?: Int32Array;
  line: Float64Array;
  address: Float64Array;
  labelsOnly?: Uint8Array;
}

/** An Arrow table with Parca's flame graph columns and types. */
export function tableFromColumns(c: Columns): Table {
  const n = c.n;
  const u64 = (a: Float64Array) => BigUint64Array.from(a, (v) => BigInt(Math.round(v)));
  const i64 = (a: Float64Array) => BigInt64Array.from(a, (v) => BigInt(Math.round(v)));
  const bools = (f: (i: number) => boolean) => {
    const bits = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++) if (f(i)) bits[i >> 3] |= 1 << (i & 7);
    return makeVector(makeData({ type: new Bool(), length: n, data: bits }));
  };
  const childrenType = new List(new Field('item', new Uint32(), true));
  const childValues = makeData({ type: new Uint32(), length: c.children.length, data: c.children });
  // Leaves are null lists, as in Parca's record.
  const validity = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (c.childOffsets[i + 1] > c.childOffsets[i]) validity[i >> 3] |= 1 << (i & 7); else nulls++;
  }
  const children = makeVector(makeData({
    type: childrenType, length: n, valueOffsets: c.childOffsets, child: childValues, nullBitmap: validity, nullCount: nulls,
  }));
  const cols: Record<string, Vector<DataType>> = {
    labels_only: bools((i) => (c.labelsOnly?.[i] ?? 0) === 1),
    location_address: makeVector(makeData({ type: new Uint64(), length: n, data: u64(c.address) })),
    mapping_file: dictVector(c.binary, c.binaryIds),
    mapping_build_id: c.buildId && c.buildIdIds ? dictVector(c.buildId, c.buildIdIds) : dictVector([''], new Int32Array(n)),
    location_line: makeVector(makeData({ type: new Uint64(), length: n, data: u64(c.line) })),
    inlined: bools(() => false),
    function_startline: makeVector(makeData({ type: new Uint64(), length: n, data: new BigUint64Array(n) })),
    function_name: dictVector(c.name, c.nameIds),
    // A separate copy: the IPC writer miscounts the body when two columns share one buffer.
    function_system_name: dictVector(c.name, c.nameIds.slice()),
    function_file_name: dictVector(c.file, c.fileIds),
    children,
    parent: makeVector(makeData({ type: new Int32(), length: n, data: c.parent })),
    cumulative: makeVector(makeData({ type: new Uint64(), length: n, data: u64(c.cumulative) })),
    flat: makeVector(makeData({ type: new Uint64(), length: n, data: u64(c.flat) })),
    diff: makeVector(makeData({ type: new Int64(), length: n, data: i64(c.diff ?? new Float64Array(n)) })),
    depth: makeVector(makeData({ type: new Uint32(), length: n, data: Uint32Array.from(c.depth) })),
  };
  return new Table(cols);
}

export function recordFromColumns(c: Columns): Uint8Array {
  return tableToIPC(tableFromColumns(c), 'stream');
}

/** Merges stacks (root frame first) into a tree the way Parca does (siblings merge on name + binary). */
export function columnsFromStacks(stacks: Stack[]): Columns {
  const root: Node = { frame: { name: '' }, cumulative: 0, flat: 0, diff: 0, children: [], byKey: new Map() };
  for (const s of stacks) {
    let node = root;
    node.cumulative += s.value;
    node.diff += s.diff ?? 0;
    for (const f of s.frames) {
      const frame = typeof f === 'string' ? { name: f } : f;
      const key = `${frame.name}\u0000${frame.binary ?? ''}`;
      let child = node.byKey.get(key);
      if (!child) {
        child = { frame, cumulative: 0, flat: 0, diff: 0, children: [], byKey: new Map() };
        node.byKey.set(key, child);
        node.children.push(child);
      }
      child.cumulative += s.value;
      child.diff += s.diff ?? 0;
      node = child;
    }
    node.flat += s.value;
  }
  const nodes: Node[] = [];
  const parents: number[] = [];
  const depths: number[] = [];
  const queue: [Node, number, number][] = [[root, -1, 0]];
  // Breadth-first numbering, like a server that appends children after their parent.
  for (let q = 0; q < queue.length; q++) {
    const [node, parent, depth] = queue[q];
    nodes.push(node); parents.push(parent); depths.push(depth);
    for (const c of node.children) queue.push([c, q, depth + 1]);
  }
  const index = new Map<Node, number>(nodes.map((node, i) => [node, i]));
  const n = nodes.length;
  const childOffsets = new Int32Array(n + 1);
  const children: number[] = [];
  for (let i = 0; i < n; i++) {
    for (const c of nodes[i].children) children.push(index.get(c)!);
    childOffsets[i + 1] = children.length;
  }
  const intern = (table: string[], map: Map<string, number>, s: string) => {
    let id = map.get(s);
    if (id === undefined) { id = table.length; table.push(s); map.set(s, id); }
    return id;
  };
  const name: string[] = []; const nameMap = new Map<string, number>();
  const binary: string[] = []; const binaryMap = new Map<string, number>();
  const file: string[] = []; const fileMap = new Map<string, number>();
  const buildId: string[] = []; const buildIdMap = new Map<string, number>();
  return {
    n,
    parent: Int32Array.from(parents),
    depth: Int32Array.from(depths),
    cumulative: Float64Array.from(nodes, (x) => x.cumulative),
    flat: Float64Array.from(nodes, (x) => x.flat),
    diff: Float64Array.from(nodes, (x) => x.diff),
    childOffsets,
    children: Uint32Array.from(children),
    name, nameIds: Int32Array.from(nodes, (x) => intern(name, nameMap, x.frame.name)),
    binary, binaryIds: Int32Array.from(nodes, (x) => intern(binary, binaryMap, x.frame.binary ?? '')),
    file, fileIds: Int32Array.from(nodes, (x) => intern(file, fileMap, x.frame.file ?? '')),
    buildId, buildIdIds: Int32Array.from(nodes, (x) => intern(buildId, buildIdMap, x.frame.buildId ?? '')),
    line: Float64Array.from(nodes, (x) => x.frame.line ?? 0),
    address: Float64Array.from(nodes, (x) => x.frame.address ?? 0),
    labelsOnly: Uint8Array.from(nodes, (x) => (x.frame.labelsOnly ? 1 : 0)),
  };
}

/**
 * A deterministic synthetic tree of exactly `count` nodes (root included) shaped like real profiles: a few deep
 * hot paths and a long tail of small leaves. Values are chosen so that every node has cumulative ≥ 1.
 */
export function syntheticColumns(count: number, seed = 1): Columns {
  let s = seed >>> 0;
  const rand = () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
  const parent = new Int32Array(count);
  const depth = new Int32Array(count);
  parent[0] = -1;
  // Each new node picks a parent among recent nodes (deep chains) or anywhere (wide fan-out).
  for (let i = 1; i < count; i++) {
    const r = rand();
    let p: number;
    if (r < 0.6) p = i - 1 - Math.floor(rand() * Math.min(i, 8));
    else p = Math.floor(Math.pow(rand(), 3) * i);
    if (depth[p] >= 120) p = Math.floor(rand() * Math.min(i, 64));
    parent[i] = p;
    depth[i] = depth[p] + 1;
  }
  const flat = new Float64Array(count);
  for (let i = 0; i < count; i++) flat[i] = 1 + Math.floor(Math.pow(rand(), 4) * 1000);
  const cumulative = flat.slice();
  for (let i = count - 1; i > 0; i--) cumulative[parent[i]] += cumulative[i];
  const childOffsets = new Int32Array(count + 1);
  for (let i = 1; i < count; i++) childOffsets[parent[i] + 1]++;
  for (let i = 0; i < count; i++) childOffsets[i + 1] += childOffsets[i];
  const fill = childOffsets.slice(0, count);
  const children = new Uint32Array(count - 1 > 0 ? count - 1 : 0);
  for (let i = 1; i < count; i++) children[fill[parent[i]]++] = i;
  const names: string[] = [];
  const binaries = ['app', 'libc.so.6', 'libstdc++.so.6', 'libcoreclr.so', 'System.Private.CoreLib.dll', 'libssl.so.3'];
  const nameCount = Math.max(16, Math.min(50_000, Math.floor(count / 8)));
  for (let i = 0; i < nameCount; i++) names.push(`Namespace${i % 97}.Type${i % 1013}.Method${i}`);
  const nameIds = new Int32Array(count);
  const binaryIds = new Int32Array(count);
  for (let i = 0; i < count; i++) { nameIds[i] = Math.floor(rand() * nameCount); binaryIds[i] = Math.floor(rand() * binaries.length); }
  return {
    n: count, parent, depth, cumulative, flat, childOffsets, children,
    name: names, nameIds, binary: binaries, binaryIds, file: ['src/main.cs'], fileIds: new Int32Array(count),
    line: new Float64Array(count), address: new Float64Array(count),
  };
}
