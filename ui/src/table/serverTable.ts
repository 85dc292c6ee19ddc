// The table from the server's TABLE_ARROW report: per-function totals of the UNTRIMMED profile. A trimmed flame
// graph has lost the flat values of the nodes it dropped, so when the server trimmed, the table is built from this
// instead of from the graph (the flame graph stays trimmed: trimming is about drawing).
import { tableFromIPC } from 'apache-arrow';
import type { FlameGraph } from '../arrow/flamegraph';
import { readNumbers, readStrings } from '../arrow/columns';
import type { TableRows } from './aggregate';

export interface ServerTable {
  /** Display name per row: function name, else the hex address. */
  names: string[];
  binaries: string[];
  flat: Float64Array;
  cumulative: Float64Array;
  flatDiff: Float64Array | null;
  cumulativeDiff: Float64Array | null;
}

export function decodeServerTable(record: Uint8Array, compare: boolean): ServerTable {
  const table = tableFromIPC(record);
  const n = table.numRows;
  const col = (name: string) => table.getChild(name);
  const fn = readStrings(col('function_name'), n);
  const mapping = readStrings(col('mapping_file'), n);
  const address = readNumbers(col('location_address'), n);
  const names: string[] = new Array(n);
  const binaries: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const name = fn.ids[i] >= 0 ? fn.strings[fn.ids[i]] : '';
    const bin = mapping.ids[i] >= 0 ? mapping.strings[mapping.ids[i]] : '';
    names[i] = name !== '' ? name : `0x${address[i].toString(16)}${bin ? ` (${bin.slice(bin.lastIndexOf('/') + 1)})` : ''}`;
    binaries[i] = bin;
  }
  return {
    names, binaries,
    flat: readNumbers(col('flat'), n), cumulative: readNumbers(col('cumulative'), n),
    flatDiff: compare ? readNumbers(col('flat_diff'), n) : null,
    cumulativeDiff: compare ? readNumbers(col('cumulative_diff'), n) : null,
  };
}

/**
 * Table rows keyed like the graph's own rows (names the graph has keep their ids, so selecting a row still selects
 * the frame), with the graph's name and binary tables extended by the functions trimming removed.
 */
export function rowsFromServerTable(fg: FlameGraph, t: ServerTable): { graph: FlameGraph; rows: TableRows } {
  const names = fg.names.slice();
  const binaries = fg.binaries.slice();
  const nameIndex = new Map<string, number>();
  names.forEach((s, i) => { if (!nameIndex.has(s)) nameIndex.set(s, i); });
  const binaryIndex = new Map<string, number>();
  binaries.forEach((s, i) => { if (!binaryIndex.has(s)) binaryIndex.set(s, i); });
  const rowOfName = new Map<number, number>();
  const ids: number[] = [];
  const bins: number[] = [];
  const flat: number[] = [];
  const cum: number[] = [];
  const flatDiff: number[] = [];
  const cumDiff: number[] = [];
  for (let i = 0; i < t.names.length; i++) {
    let id = nameIndex.get(t.names[i]);
    if (id === undefined) { id = names.length; names.push(t.names[i]); nameIndex.set(t.names[i], id); }
    let b = binaryIndex.get(t.binaries[i]);
    if (b === undefined) { b = binaries.length; binaries.push(t.binaries[i]); binaryIndex.set(t.binaries[i], b); }
    let r = rowOfName.get(id);
    if (r === undefined) {
      r = ids.length; rowOfName.set(id, r);
      ids.push(id); bins.push(b); flat.push(0); cum.push(0); flatDiff.push(0); cumDiff.push(0);
    }
    flat[r] += t.flat[i];
    cum[r] += t.cumulative[i];
    if (t.flatDiff) flatDiff[r] += t.flatDiff[i];
    if (t.cumulativeDiff) cumDiff[r] += t.cumulativeDiff[i];
  }
  const rows: TableRows = {
    nameId: Int32Array.from(ids), binaryId: Int32Array.from(bins),
    flat: Float64Array.from(flat), cumulative: Float64Array.from(cum),
    flatDiff: t.flatDiff ? Float64Array.from(flatDiff) : null, cumulativeDiff: t.cumulativeDiff ? Float64Array.from(cumDiff) : null,
  };
  return { graph: { ...fg, names, binaries }, rows };
}
