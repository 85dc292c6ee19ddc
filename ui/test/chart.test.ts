import { describe, expect, it } from 'vitest';
import { columnsFromStacks, recordFromColumns } from '../src/arrow/fixtures';
import { decodeFlameGraph } from '../src/arrow/flamegraph';
import { chartLayout } from '../src/flamegraph/chart';

const s = 1e9;

/** A FLAMECHART-shaped graph: one labels-only row per (thread, profile time) below the root. */
function chart() {
  const group = (thread: string, at: number) => ({ name: `{thread="${thread}"}@${at}`, labelsOnly: true });
  const stacks = [
    { frames: [group('a', 0), 'main', 'work'], value: 3 * s },
    { frames: [group('a', 20), 'main', 'work', 'leaf'], value: 1 * s },
    { frames: [group('b', 10), 'main'], value: 10 * s },
  ];
  const fg = decodeFlameGraph(recordFromColumns(columnsFromStacks(stacks)), 'nanoseconds');
  // The server's rows are named by their labels; the timestamp column carries the time (the fixture has none).
  const timestamp = new Float64Array(fg.n);
  for (let i = 0; i < fg.n; i++) {
    if (!fg.labelsOnly[i]) continue;
    const [labels, at] = fg.names[fg.nameId[i]].split('@');
    fg.names[fg.nameId[i]] = labels;
    timestamp[i] = 1_700_000_000 * s + Number(at) * s;
  }
  return { fg, timestamp };
}

describe('flame chart layout', () => {
  it('puts every profile of a lane at its time, with its busy share and the lane depth', () => {
    const { fg, timestamp } = chart();
    const layout = chartLayout(fg, timestamp);
    expect(layout.lanes.map((l) => l.label)).toEqual(['{thread="a"}', '{thread="b"}']);
    // The smallest gap between two profiles of a lane is the window: 20 s (a at 0 and 20).
    expect(layout.window).toBe(20 * s);
    expect(layout.from).toBe(1_700_000_000 * s);
    expect(layout.to).toBe(1_700_000_000 * s + 40 * s);
    const [a, b] = layout.lanes;
    expect(a.windows.map((w) => [(w.time - layout.from) / s, w.busy])).toEqual([[0, 3 / 20], [20, 1 / 20]]);
    expect(a.total).toBe(4 * s);
    expect(a.depth).toBe(3); // main;work;leaf below the window row
    expect(b.windows.map((w) => [(w.time - layout.from) / s, w.busy])).toEqual([[10, 10 / 20]]);
    expect(b.depth).toBe(1);
  });
  it('has no lanes without timestamps (a plain flame graph)', () => {
    const { fg } = chart();
    expect(chartLayout(fg, null).lanes).toEqual([]);
  });
});
