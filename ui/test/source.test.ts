import { describe, expect, it } from 'vitest';
import { Int64, Table, makeData, makeVector, tableToIPC } from 'apache-arrow';
import { columnsFromStacks, recordFromColumns } from '../src/arrow/fixtures';
import { decodeFlameGraph } from '../src/arrow/flamegraph';
import { decodeSourceRecord, heat, sourceLines, sourceRefOf } from '../src/source/source';
import { decodeState, defaultState, encodeState, isNavigation } from '../src/state/url';

/** A SOURCE record as the server writes it: one row per line, int64 cumulative and flat. */
function sourceRecord(cumulative: number[], flat: number[]): Uint8Array {
  const col = (v: number[]) => makeVector(makeData({ type: new Int64(), length: v.length, data: BigInt64Array.from(v, BigInt) }));
  return tableToIPC(new Table({ cumulative: col(cumulative), flat: col(flat) }), 'stream');
}

describe('source view data', () => {
  const text = 'int main() {\n  work();\n  return 0;\n}\n';

  it('joins the record rows with the text, line i + 1 = row i', () => {
    const { cumulative, flat } = decodeSourceRecord(sourceRecord([0, 70, 0, 0], [0, 30, 0, 0]));
    const lines = sourceLines(text, cumulative, flat);
    expect(lines.map((l) => l.text)).toEqual(['int main() {', '  work();', '  return 0;', '}']);
    expect(lines.map((l) => [l.line, l.cumulative, l.flat])).toEqual([[1, 0, 0], [2, 70, 30], [3, 0, 0], [4, 0, 0]]);
  });

  it('keeps a last line without a newline and counts lines the record lacks as 0', () => {
    const { cumulative, flat } = decodeSourceRecord(sourceRecord([5], [5]));
    const lines = sourceLines('a\nb', cumulative, flat);
    expect(lines.map((l) => [l.line, l.text, l.cumulative])).toEqual([[1, 'a', 5], [2, 'b', 0]]);
    expect(decodeSourceRecord(new Uint8Array(0)).cumulative.length).toBe(0);
  });

  it('heats lines by their share of the hottest one, cold lines stay clear', () => {
    expect(heat(0, 100, false)).toBe('transparent');
    const alpha = (c: string) => Number(/([\d.]+)\)$/.exec(c)![1]);
    expect(alpha(heat(100, 100, false))).toBeCloseTo(0.8, 3);
    expect(alpha(heat(25, 100, false))).toBeCloseTo(0.12 + 0.68 * 0.5, 3);
    expect(alpha(heat(1, 100, true))).toBeLessThan(alpha(heat(2, 100, true)));
  });

  it('a frame with build id, file and line opens its source; others cannot', () => {
    const fg = decodeFlameGraph(recordFromColumns(columnsFromStacks([
      { frames: [{ name: 'main', binary: 'app', buildId: 'abc123', file: '/src/main.c', line: 12 }, { name: 'work', binary: 'app', buildId: 'abc123', file: '/src/work.c', line: 7 }], value: 10 },
      { frames: [{ name: 'other', binary: 'lib' }], value: 5 },
    ])), 'count');
    const byName = (name: string) => fg.nameId.findIndex((id) => fg.names[id] === name);
    expect(sourceRefOf(fg, byName('work'))).toEqual({ buildId: 'abc123', filename: '/src/work.c', line: 7 });
    expect(sourceRefOf(fg, byName('main'))).toEqual({ buildId: 'abc123', filename: '/src/main.c', line: 12 });
    expect(sourceRefOf(fg, byName('other'))).toBeNull();
    expect(sourceRefOf(fg, 0)).toBeNull();
  });

  it('the open source view is in the URL with Parca\'s parameter names and is a navigation', () => {
    const s = defaultState();
    s.source = { buildId: 'abc123', filename: '/src/work.c', line: 7 };
    const qs = encodeState(s);
    expect(new URLSearchParams(qs).get('source_buildid')).toBe('abc123');
    expect(new URLSearchParams(qs).get('source_filename')).toBe('/src/work.c');
    expect(new URLSearchParams(qs).get('source_line')).toBe('7');
    expect(decodeState(qs).source).toEqual(s.source);
    expect(decodeState('source_filename=/x.c').source).toBeNull();
    expect(isNavigation(defaultState(), s)).toBe(true);
  });
});
