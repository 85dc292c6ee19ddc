// The source view end to end: a real parca allowed to read one directory (--debuginfo-source-directories), a
// symbolized CPU profile whose frames name a C file there (mapping with a build id), Debian's Chromium: right-click
// a flame graph frame → "View source" shows the file with per-line cumulative/flat values computed here from the
// profile's own stacks, heat on the hot lines, the frame's line marked, and the view survives a reload (URL state).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { Function as PFunction, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { ProfileStoreService } from '../src/gen/parca/profilestore/v1alpha1/profilestore_pb';
import { formatValue } from '../src/format/format';
import { launchChromium, screenshots } from './browser';
import { startParca, type RunningServer } from './server';

const type = 'cpu:samples:count:cpu:nanoseconds:delta';
const at = Date.UTC(2026, 10, 2, 12, 0, 0);
const buildId = 'e2e50urce0b1d';
const dir = mkdtempSync(join(tmpdir(), 'parca-source-e2e-'));
const file = join(dir, 'work.c');
const source = [
  '#include <stdio.h>', // 1
  'static int work(int n) {', // 2
  '  int s = 0; for (int i = 0; i < n; i++) s += i * i;', // 3
  '  return s;', // 4
  '}', // 5
  '', // 6
  'int main(void) {', // 7
  '  int r = 0;', // 8
  '  r += work(1000);', // 9
  '  printf("%d\\n", r);', // 10
  '  return 0;', // 11
  '}', // 12
].join('\n') + '\n';
// Stacks root first as (function, line): 30 samples in work called from main:9, 10 samples in main:10.
const stacks: [[string, number][], number][] = [[[['main', 9], ['work', 3]], 30], [[['main', 10]], 10]];

let server: RunningServer;
let browser: Browser;
let page: Page;

function profile(): Profile {
  const st = new StringTable();
  const functions = new Map<string, PFunction>();
  const locations: Location[] = [];
  const samples: Sample[] = [];
  const fn = (name: string) => {
    let f = functions.get(name);
    if (!f) { f = new PFunction({ id: functions.size + 1, name: st.dedup(name), systemName: st.dedup(name), filename: st.dedup(file) }); functions.set(name, f); }
    return f;
  };
  for (const [frames, value] of stacks) {
    const ids: number[] = [];
    for (const [name, line] of frames) {
      const loc = new Location({ id: locations.length + 1, mappingId: 1, address: 0x401000 + locations.length * 16, line: [new Line({ functionId: fn(name).id, line })] });
      locations.push(loc);
      ids.push(Number(loc.id));
    }
    samples.push(new Sample({ locationId: ids.reverse(), value: [value, value * 10_000_000] }));
  }
  return new Profile({
    sampleType: [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }), new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') })],
    sample: samples, location: locations, function: [...functions.values()],
    mapping: [new Mapping({ id: 1, memoryStart: 0x400000, memoryLimit: 0x500000, filename: st.dedup('/usr/bin/work'), buildId: st.dedup(buildId), hasFunctions: true, hasLineNumbers: true })],
    stringTable: st, timeNanos: BigInt(at) * 1_000_000n, durationNanos: 10_000_000_000, periodType: new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }), period: 10_000_000,
  });
}

/** Per line (1-based) cumulative and flat from the stacks, as Parca defines them for one file, in CPU ns (10 ms samples). */
function expectedLines(): { cumulative: Map<number, number>; flat: Map<number, number> } {
  const cumulative = new Map<number, number>();
  const flat = new Map<number, number>();
  for (const [frames, value] of stacks) {
    const ns = value * 10_000_000; // a delta CPU profile merges into CPU time
    for (const [, line] of frames) cumulative.set(line, (cumulative.get(line) ?? 0) + ns);
    const leaf = frames[frames.length - 1][1];
    flat.set(leaf, (flat.get(leaf) ?? 0) + ns);
  }
  return { cumulative, flat };
}

beforeAll(async () => {
  writeFileSync(file, source);
  server = await startParca([`--debuginfo-source-directories=${dir}`]);
  const client = createClient(ProfileStoreService, createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true }));
  await client.writeRaw({ series: [{ labels: { labels: [{ name: '__name__', value: 'cpu' }, { name: 'job', value: 'source' }] }, samples: [{ rawProfile: gzipSync(profile().encode()) }] }] });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => { throw e; });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('source view', () => {
  it('opens from a flame graph frame with per-line values and heat, and survives a reload', async () => {
    await page.goto(`${server.url}/?expression_a=${encodeURIComponent(`${type}{job="source"}`)}&from_a=${at - 600_000}&to_a=${at + 600_000}&merge_from_a=${at}&merge_to_a=${at}&dashboard_items=flamegraph`);
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    // Row 2 (root, main, work): work takes the left 30/40 of the width.
    const canvas = (await page.locator('[data-testid=flamegraph-canvas]').boundingBox())!;
    await page.mouse.click(canvas.x + canvas.width * 0.1, canvas.y + 2 * 18 + 9, { button: 'right' });
    await page.locator('[data-testid=context-menu]').waitFor();
    await page.locator('[data-testid=view-source]').click();

    await page.locator('[data-testid=source-line]').first().waitFor();
    const rows = page.locator('[data-testid=source-line]');
    expect(await rows.count()).toBe(source.split('\n').length - 1);
    expect(await rows.locator('pre').allTextContents()).toEqual(source.split('\n').slice(0, -1));
    const { cumulative, flat } = expectedLines();
    const cells = await rows.evaluateAll((trs) => trs.map((tr) => ({
      line: Number((tr as HTMLElement).dataset.line),
      cumulative: tr.querySelector('[data-testid=source-cumulative]')!.textContent,
      flat: tr.querySelector('[data-testid=source-flat]')!.textContent,
      background: getComputedStyle(tr).backgroundColor,
      current: tr.classList.contains('current'),
    })));
    for (const c of cells) {
      const cum = cumulative.get(c.line) ?? 0;
      const fl = flat.get(c.line) ?? 0;
      expect([c.line, c.cumulative, c.flat]).toEqual([c.line, cum > 0 ? formatValue(cum, 'nanoseconds') : '', fl > 0 ? formatValue(fl, 'nanoseconds') : '']);
      // Hot lines are tinted, cold ones are not.
      expect([c.line, c.background === 'rgba(0, 0, 0, 0)']).toEqual([c.line, cum === 0]);
    }
    expect(cells.filter((c) => c.current).map((c) => c.line)).toEqual([3]);
    const params = new URL(page.url()).searchParams;
    expect([params.get('source_buildid'), params.get('source_filename'), params.get('source_line')]).toEqual([buildId, file, '3']);
    await page.screenshot({ path: join(screenshots, 'source-view.png'), fullPage: true });

    await page.reload();
    await page.locator('[data-testid=source-line][data-line="9"]').waitFor();
    expect(await page.locator('[data-testid=source-line][data-line="9"] [data-testid=source-cumulative]').textContent()).toBe(formatValue(30 * 10_000_000, 'nanoseconds'));
    await page.locator('[data-testid=source-close]').click();
    expect(await page.locator('[data-testid=source-view]').count()).toBe(0);
    expect(new URL(page.url()).searchParams.get('source_buildid')).toBeNull();
  });
});
