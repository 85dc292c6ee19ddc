import { describe, expect, it } from 'vitest';
import { columnsFromStacks, recordFromColumns, syntheticColumns } from '../src/arrow/fixtures';
import { decodeFlameGraph, type FlameGraph } from '../src/arrow/flamegraph';
import { categoricalColoring, diffColor, packageOf } from '../src/flamegraph/colors';
import { draw, hitTest, type View } from '../src/flamegraph/render';

/** Records fillRect/fillText calls: a stand-in for a canvas context in Node (the browser benchmark and the e2e test draw on real canvases). */
class RecordingContext {
  rects: { x: number; y: number; w: number; h: number; fill: string }[] = [];
  texts: { text: string; x: number; y: number }[] = [];
  fillStyle = '';
  strokeStyle = '';
  lineWidth = 1;
  font = '';
  textBaseline = '';
  fillRect(x: number, y: number, w: number, h: number) { this.rects.push({ x, y, w, h, fill: this.fillStyle }); }
  strokeRect() {}
  fillText(text: string, x: number, y: number) { this.texts.push({ text, x, y }); }
  measureText(t: string) { return { width: t.length * 7 }; }
}

const stacks = [
  { frames: [{ name: 'main', binary: '/usr/bin/app' }, { name: 'compute', binary: '/usr/bin/app' }], value: 50 },
  { frames: [{ name: 'main', binary: '/usr/bin/app' }, { name: 'memcpy', binary: '/lib/libc.so.6' }], value: 25 },
  { frames: [{ name: 'gc', binary: '/usr/bin/app' }], value: 25 },
];

function render(fg: FlameGraph, view: View, search: Uint8Array | null = null) {
  const ctx = new RecordingContext();
  const drawn = draw(ctx as unknown as CanvasRenderingContext2D, fg, view, {
    dark: false, coloring: categoricalColoring(fg, 'binary', false), matches: search, selectedName: -1, font: '11px monospace',
  });
  // The first rect is the background.
  return { drawn, rects: ctx.rects.slice(1), texts: ctx.texts };
}

const named = (fg: FlameGraph, name: string) => [...Array(fg.n).keys()].find((i) => fg.names[fg.nameId[i]] === name)!;

describe('flame graph renderer', () => {
  const fg = decodeFlameGraph(recordFromColumns(columnsFromStacks(stacks)), 'nanoseconds');
  const view: View = { focus: 0, width: 1000, rowHeight: 18, flipped: false };

  it('draws every node with width proportional to its value, children inside parents', () => {
    const { drawn, rects, texts } = render(fg, view);
    expect(drawn).toBe(5);
    const compute = named(fg, 'compute');
    const byText = (t: string) => texts.find((x) => x.text === t)!;
    expect(byText('compute').y).toBe(2 * 18 + 9);
    // main = 75 % of 1000 px (minus the 1 px gap), at x 0, row 1.
    expect(rects.find((r) => r.y === 18 && r.x === 0)!.w).toBe(749);
    expect(rects.find((r) => r.y === 36 && r.x === fg.x[compute] * 10)!.w).toBe(499);
  });

  it('zooms: the focused frame spans the width and other subtrees disappear', () => {
    const main = named(fg, 'main');
    const { rects, texts } = render(fg, { ...view, focus: main });
    expect(texts.map((t) => t.text)).not.toContain('gc');
    const row2 = rects.filter((r) => r.y === 36);
    expect(row2.reduce((a, r) => a + r.w + 1, 0)).toBe(1000);
    expect(hitTest(fg, { ...view, focus: main }, 999, 36 + 5)).toBe(named(fg, 'memcpy'));
  });

  it('hit-tests points to nodes, also when flipped', () => {
    expect(hitTest(fg, view, 10, 5)).toBe(0);
    expect(hitTest(fg, view, 10, 18 + 5)).toBe(named(fg, 'main'));
    expect(hitTest(fg, view, 900, 18 + 5)).toBe(named(fg, 'gc'));
    expect(hitTest(fg, view, 900, 36 + 5)).toBe(-1);
    const flipped = { ...view, flipped: true };
    expect(hitTest(fg, flipped, 10, 2 * 18 + 5)).toBe(0);
    expect(hitTest(fg, flipped, 10, 5)).toBe(named(fg, 'compute'));
  });

  it('dims frames that do not match the search', () => {
    const matches = new Uint8Array(fg.n);
    matches[named(fg, 'gc')] = 1;
    const { rects } = render(fg, view, matches);
    const fills = new Set(rects.filter((r) => r.x < 700).map((r) => r.fill));
    expect(fills.size).toBe(1);
    expect(rects.find((r) => r.x >= 750 && r.y === 18)!.fill).not.toBe([...fills][0]);
  });

  it('bounds the work by pixels on a large graph', () => {
    const big = decodeFlameGraph(recordFromColumns(syntheticColumns(200_000, 3)), 'count');
    const { drawn, rects } = render(big, { ...view, width: 1200 });
    // At most one rectangle per half pixel per row; every one at least half a pixel wide.
    expect(drawn).toBeLessThanOrEqual(big.height * 2400);
    expect(rects.every((r) => r.w >= 0.5)).toBe(true);
  });
});

describe('colours', () => {
  it('ranks binaries by self value for the legend', () => {
    const fg = decodeFlameGraph(recordFromColumns(columnsFromStacks(stacks)), 'nanoseconds');
    expect(categoricalColoring(fg, 'binary', false).legend.entries.map((e) => e.label)).toEqual(['app', 'libc.so.6']);
  });
  it('derives packages from .NET, Go and C++ names', () => {
    expect(packageOf('System.Collections.Generic.List`1.Add')).toBe('System.Collections.Generic.List`1');
    expect(packageOf('Parca.Server.SelfProfiling.EventPipeRecorder+<RecordAsync>d__6.MoveNext()')).toBe('Parca.Server.SelfProfiling.EventPipeRecorder');
    expect(packageOf('Interop+Sys.Read(class System.Runtime.InteropServices.SafeHandle,unsigned int8*,int32)')).toBe('Interop');
    expect(packageOf('net/http.(*Server).Serve')).toBe('net/http');
    expect(packageOf('github.com/dgraph-io/sroar.init')).toBe('github.com/dgraph-io/sroar');
    expect(packageOf('std::vector<int>::push_back')).toBe('std');
    expect(packageOf('0x4011f0')).toBe('(unsymbolized)');
  });
  it('uses blue for less and orange for more, grey for equal', () => {
    expect(diffColor(10, 10, false)).toBe('rgb(220,222,226)');
    expect(diffColor(10, 0, false)).toBe('rgb(50,125,220)');
    expect(diffColor(0, 10, false)).toBe('rgb(230,120,30)');
  });
});
