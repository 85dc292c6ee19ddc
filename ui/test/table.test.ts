import { describe, expect, it } from 'vitest';
import { columnsFromStacks, recordFromColumns } from '../src/arrow/fixtures';
import { decodeFlameGraph, type FlameGraph } from '../src/arrow/flamegraph';
import { sandwich, sortRows, tableFromFlameGraph, topNames } from '../src/table/aggregate';

const stacks = [
  { frames: ['main', 'a', 'b', 'a'], value: 10 }, // recursion: a counted once in cumulative
  { frames: ['main', 'a', 'c'], value: 20 },
  { frames: ['main', 'b'], value: 30 },
  { frames: ['main'], value: 5 },
];

function byName(fg: FlameGraph, rows: ReturnType<typeof tableFromFlameGraph>) {
  const out: Record<string, { flat: number; cum: number; flatDiff?: number; cumDiff?: number }> = {};
  for (let r = 0; r < rows.nameId.length; r++) {
    out[fg.names[rows.nameId[r]]] = {
      flat: rows.flat[r], cum: rows.cumulative[r],
      ...(rows.flatDiff ? { flatDiff: rows.flatDiff[r], cumDiff: rows.cumulativeDiff![r] } : {}),
    };
  }
  return out;
}

/** Stacks of a graph as "a;b;c value" lines (self values), for exact comparisons. */
function folded(fg: FlameGraph): string[] {
  const lines: string[] = [];
  const walk = (node: number, path: string[]) => {
    const p = node === 0 ? path : [...path, fg.names[fg.nameId[node]]];
    if (fg.flat[node] > 0) lines.push(`${p.join(';')} ${fg.flat[node]}`);
    for (let k = fg.childOffsets[node]; k < fg.childOffsets[node + 1]; k++) walk(fg.children[k], p);
  };
  walk(0, []);
  return lines.sort();
}

describe('table', () => {
  const fg = decodeFlameGraph(recordFromColumns(columnsFromStacks(stacks)), 'count');
  it('aggregates flat and cumulative per function, recursion counted once', () => {
    expect(byName(fg, tableFromFlameGraph(fg))).toEqual({
      main: { flat: 5, cum: 65 },
      a: { flat: 10, cum: 30 },
      b: { flat: 30, cum: 40 },
      c: { flat: 20, cum: 20 },
    });
  });
  it('leaves label groups out of the table and counts functions across groups', () => {
    const q = { name: '{api="query"}', labelsOnly: true };
    const w = { name: '{api="write"}', labelsOnly: true };
    const grouped = decodeFlameGraph(recordFromColumns(columnsFromStacks(stacks.map((s, i) => ({ ...s, frames: [i % 2 ? q : w, ...s.frames] })))), 'count');
    expect(grouped.labelsOnly[grouped.children[grouped.childOffsets[0]]]).toBe(1);
    expect(byName(grouped, tableFromFlameGraph(grouped))).toEqual(byName(fg, tableFromFlameGraph(fg)));
    // Inverted with label groups: self values come from the nodes right below each group.
    const inverted = decodeFlameGraph(recordFromColumns(columnsFromStacks([
      { frames: [q, 'leaf', 'main'], value: 7 }, { frames: [w, 'leaf', 'main'], value: 3 }, { frames: [w, 'other', 'main'], value: 2 },
    ])), 'count');
    const rows = byName(inverted, tableFromFlameGraph(inverted, true));
    expect(rows.leaf).toEqual({ flat: 10, cum: 10 });
    expect(rows.other).toEqual({ flat: 2, cum: 2 });
    expect(rows.main.flat).toBe(0);
    expect(Object.keys(rows).sort()).toEqual(['leaf', 'main', 'other']);
  });
  it('suggests the heaviest function names first', () => {
    // a and b both have a node of 30 (main→a, main→b): ties go by name.
    expect(topNames(fg, 3)).toEqual(['main', 'a', 'b']);
    expect(topNames(fg, 10)).toEqual(['main', 'a', 'b', 'c']);
  });
  it('sorts and filters', () => {
    const rows = tableFromFlameGraph(fg);
    const names = (idx: Int32Array) => [...idx].map((r) => fg.names[rows.nameId[r]]);
    expect(names(sortRows(fg, rows, 'cumulative', true, ''))).toEqual(['main', 'b', 'a', 'c']);
    expect(names(sortRows(fg, rows, 'flat', false, ''))).toEqual(['main', 'a', 'c', 'b']);
    expect(names(sortRows(fg, rows, 'name', false, ''))).toEqual(['a', 'b', 'c', 'main']);
    expect(names(sortRows(fg, rows, 'flat', true, 'A'))).toEqual(['a', 'main']);
    // /regex/ as in the flame graph's search: anchored, case-insensitive; an invalid one matches nothing.
    expect(names(sortRows(fg, rows, 'name', false, '/^(A|c)$/'))).toEqual(['a', 'c']);
    expect(names(sortRows(fg, rows, 'name', false, '/[/'))).toEqual([]);
  });
  it('computes diff columns in compare mode', () => {
    const diffStacks = [
      { frames: ['main', 'x'], value: 30, diff: 10 }, // A had 20
      { frames: ['main', 'y'], value: 0, diff: -15 }, // only in A
      { frames: ['main', 'z'], value: 5, diff: 5 }, // only in B
    ];
    const d = decodeFlameGraph(recordFromColumns(columnsFromStacks(diffStacks)), 'count', 0, true);
    expect(d.diff).not.toBeNull();
    // Width = A + B: the A-only frame is drawn.
    const y = [...Array(d.n).keys()].find((i) => d.names[d.nameId[i]] === 'y')!;
    expect(d.width[y]).toBe(15);
    expect(d.width[0]).toBe(35 + 35);
    const t = byName(d, tableFromFlameGraph(d));
    expect(t.x).toEqual({ flat: 30, cum: 30, flatDiff: 10, cumDiff: 10 });
    expect(t.y).toEqual({ flat: 0, cum: 0, flatDiff: -15, cumDiff: -15 });
    expect(t.z).toEqual({ flat: 5, cum: 5, flatDiff: 5, cumDiff: 5 });
  });
});

describe('sandwich', () => {
  const fg = decodeFlameGraph(recordFromColumns(columnsFromStacks(stacks)), 'count');
  const id = (name: string) => fg.names.indexOf(name);
  it('merges callers of a function with the function as root', () => {
    const { callers } = sandwich(fg, id('b'));
    expect(callers.total).toBe(40);
    expect(folded(callers)).toEqual(['a;main 10', 'main 30']);
    expect(callers.names[callers.nameId[0]]).toBe('b');
  });
  it('merges callees below the function, counting recursive calls once', () => {
    const { callees } = sandwich(fg, id('a'));
    expect(callees.total).toBe(30);
    expect(folded(callees)).toEqual(['b;a 10', 'c 20']);
  });
});

describe('table of an inverted graph', () => {
  it('takes self values from the frames right below the root', () => {
    // The leaf-first tree of the stacks above, as the server returns it with invert_call_stack.
    const inverted = stacks.map((s) => ({ ...s, frames: [...s.frames].reverse() }));
    const fg = decodeFlameGraph(recordFromColumns(columnsFromStacks(inverted)), 'count');
    expect(byName(fg, tableFromFlameGraph(fg, true))).toEqual({
      main: { flat: 5, cum: 65 },
      a: { flat: 10, cum: 30 },
      b: { flat: 30, cum: 40 },
      c: { flat: 20, cum: 20 },
    });
  });
});
