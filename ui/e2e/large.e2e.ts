// Full-size profiles in the browser against a real parca: a large.cpu-sized profile (425k call-tree nodes) and a
// 1M-node one, generated here, written as pprof files and ingested through WriteRaw. The flame graph must appear,
// the table's flat values must equal `go tool pprof -top`'s on the same file (the graph is trimmed by default: the
// table comes from the server's untrimmed totals), the server's peak RSS must stay under the bound below, and a
// diff of CPU against heap bytes must be refused with a message. History: Back/Forward and reload restore the view.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { ProfileStoreService } from '../src/gen/parca/profilestore/v1alpha1/profilestore_pb';
import { formatValue } from '../src/format/format';
import { launchChromium, screenshots } from './browser';
import { largeProfile } from './largeProfile';
import { startParca, testdata, type RunningServer } from './server';

// Peak resident memory the server may reach while holding both profiles and answering the browser's queries
// (the .NET runtime alone takes ~100 MB; the 1M-node flame graph record is 76 MB before trimming).
const rssBoundBytes = 3 * 1024 ** 3;
const type = 'cpu:samples:count:cpu:nanoseconds:delta';
const t0 = Date.UTC(2026, 10, 1, 12, 0, 0);
const sizes = [{ job: 'large', nodes: 425_000, at: t0 }, { job: 'huge', nodes: 1_000_000, at: t0 + 60_000 }];

let server: RunningServer;
let browser: Browser;
let page: Page;
const dir = mkdtempSync(join(tmpdir(), 'parca-large-e2e-'));
const files = new Map<string, string>();

function goTopFlat(file: string): Map<string, number> {
  return new Map([...goTop(file)].map(([name, v]) => [name, v.flat]));
}

function goTop(file: string): Map<string, { flat: number; cum: number }> {
  const out = execFileSync('go', ['tool', 'pprof', '-top', '-symbolize=none', '-sample_index=cpu', '-unit=ns', '-nodecount=1000000', '-nodefraction=0', '-edgefraction=0', file],
    { env: { ...process.env, HOME: dir, PPROF_TMPDIR: dir }, maxBuffer: 256 * 1024 * 1024 }).toString();
  const flat = new Map<string, { flat: number; cum: number }>();
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)(?:ns)?\s+[\d.]+%\s+[\d.]+%\s+(\d+)(?:ns)?\s+[\d.]+%\s+(.+?)\s*$/.exec(line);
    if (m) flat.set(m[3], { flat: Number(m[1]), cum: Number(m[2]) });
  }
  if (flat.size < 1000) throw new Error(`go tool pprof -top printed too few rows:\n${out.slice(0, 2000)}`);
  return flat;
}

/**
 * Where the time to the painted graph went, in ms since the navigation started: the page's own load, every API
 * request (start → end, bytes), and the UI's User Timing spans (flame graph request, decode, draw).
 */
async function timeline(p: Page): Promise<string> {
  return p.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const api = (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
      .filter((r) => r.name.includes('/api/'))
      .map((r) => `${r.name.split('/').pop()} ${r.startTime.toFixed(0)}→${r.responseEnd.toFixed(0)} (${r.encodedBodySize} B)`);
    const spans = performance.getEntriesByType('measure').map((m) => `${m.name} ${m.startTime.toFixed(0)}+${m.duration.toFixed(0)}`);
    return [`page: html ${nav.responseEnd.toFixed(0)}, DOMContentLoaded ${nav.domContentLoadedEventEnd.toFixed(0)}, load ${nav.loadEventEnd.toFixed(0)}`,
      `api: ${api.join(', ')}`, `ui: ${spans.join(', ')}`].join('\n  ');
  });
}

function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

const url = (job: string, at: number, extra = '') =>
  `${server.url}/?expression_a=${encodeURIComponent(`${type}{job="${job}"}`)}&from_a=${at - 600_000}&to_a=${at + 600_000}&merge_from_a=${at}&merge_to_a=${at}${extra}`;

beforeAll(async () => {
  server = await startParca(['--grpc-max-message-size=134217728']);
  const client = createClient(ProfileStoreService, createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true }));
  for (const s of sizes) {
    const bytes = gzipSync(largeProfile(s.nodes, s.at).encode());
    const file = join(dir, `${s.job}.pb.gz`);
    writeFileSync(file, bytes);
    files.set(s.job, file);
    await client.writeRaw({ series: [{ labels: { labels: [{ name: '__name__', value: 'cpu' }, { name: 'job', value: s.job }] }, samples: [{ rawProfile: bytes }] }] });
  }
  await client.writeRaw({ series: [{ labels: { labels: [{ name: '__name__', value: 'memory' }, { name: 'job', value: 'heap' }] }, samples: [{ rawProfile: readFileSync(join(testdata, 'pprof/go-runtime/heap.pb.gz')) }] }] });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('pageerror', (e) => { throw e; });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('full-size profiles', () => {
  for (const s of sizes) {
    it(`draws the ${s.nodes.toLocaleString('en-US')}-node profile and its table equals go tool pprof -top`, async () => {
      const expected = goTopFlat(files.get(s.job)!);
      const clicked = Date.now();
      await page.goto(url(s.job, s.at, '&sort_by=-flat'));
      // Generous fail-safes (not performance assertions): the shared CI machine can be very loaded.
      await page.locator('[data-testid=flamegraph] canvas').waitFor({ timeout: 150_000 });
      await page.locator('[data-testid=trim-note]').waitFor({ timeout: 150_000 });
      const painted = Date.now() - clicked;
      await page.locator('[data-testid=flamegraph] canvas[data-drawn]').waitFor({ timeout: 150_000 });
      const phases = await timeline(page);
      // The same span as the page saw it: from the navigation's start to the end of the first full draw (User Timing),
      // without the test's own polling for the elements.
      const drawnAt = await page.evaluate(() => {
        const draw = performance.getEntriesByName('flamegraph draw', 'measure')[0];
        return draw ? draw.startTime + draw.duration : NaN;
      });
      // The default trim (one pixel) dropped nodes; the note says how many are drawn out of how many.
      const note = (await page.locator('[data-testid=trim-note]').textContent())!;
      expect(note).toContain(`of ${(s.nodes + 1).toLocaleString('en-US')} nodes drawn`);
      await page.locator('[data-testid=table-loading]').waitFor({ state: 'detached', timeout: 150_000 });
      // The heaviest 40 rows by flat, as shown, against pprof's own numbers for the same functions.
      const rows = await page.locator('[data-testid=table] tbody tr').evaluateAll((trs) => trs
        .map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? ''))
        .filter((cells) => cells.length >= 5));
      expect(rows.length).toBeGreaterThan(20);
      const byFlat = [...expected.entries()].sort((a, b) => b[1] - a[1]);
      for (const [i, cells] of rows.slice(0, 20).entries()) {
        const name = cells[4];
        expect(expected.has(name), `${name} is a function pprof lists`).toBe(true);
        expect(cells[0], `flat of ${name}`).toBe(formatValue(expected.get(name)!, 'nanoseconds'));
        expect(cells[0]).toBe(formatValue(byFlat[i][1], 'nanoseconds'));
      }
      await page.screenshot({ path: join(screenshots, `large-${s.job}.png`) });
      const rss = peakRss(server.process.pid!);
      console.log(`${s.job}: ${s.nodes} nodes, click to painted flame graph ${painted} ms (in the page: ${drawnAt.toFixed(0)} ms), server peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB\n  ${phases}`);
      expect(rss).toBeLessThan(rssBoundBytes);
    });
  }

  it('Back and Forward restore the profile and the zoom; reload keeps them', async () => {
    const a = url('large', sizes[0].at);
    await page.goto(a);
    await page.locator('[data-testid=trim-note]').waitFor({ timeout: 150_000 });
    // Another profile is a navigation: Back returns to the first.
    await page.goto(url('huge', sizes[1].at));
    await page.locator('[data-testid=trim-note]').waitFor({ timeout: 150_000 });
    await page.goBack();
    await expect.poll(() => new URL(page.url()).searchParams.get('expression_a')).toBe(`${type}{job="large"}`);
    // A search is not a navigation: it replaces the entry, so Back still leaves this profile's page as a whole.
    await page.locator('[data-testid=search]').fill('method_1');
    await expect.poll(() => new URL(page.url()).searchParams.get('search_string')).toBe('method_1');
    await page.reload();
    await page.locator('[data-testid=trim-note]').waitFor({ timeout: 150_000 });
    expect(await page.locator('[data-testid=search]').inputValue()).toBe('method_1');
    await page.goForward();
    await expect.poll(() => new URL(page.url()).searchParams.get('expression_a')).toBe(`${type}{job="huge"}`);
  });

  it('shows a minimap of the deep graph that scrolls the graph to the clicked row', async () => {
    // Untrimmed: the one-pixel trim leaves too few deep rows for a minimap; all 56 levels need one.
    await page.goto(url('large', sizes[0].at, '&trim=0&dashboard_items=flamegraph'));
    const minimap = page.locator('[data-testid=flamegraph] [data-testid=minimap]');
    await page.locator('[data-testid=flamegraph] [data-testid=minimap-canvas][data-drawn]').waitFor({ timeout: 150_000 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const rowsShown = async () => (await page.locator('[data-testid=flamegraph] [data-testid=minimap-window]').getAttribute('data-rows'))!;
    const [, lastBefore] = (await rowsShown()).split('-').map(Number);
    const box = (await minimap.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height - 1);
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(50);
    // The outlined window follows the scroll: deeper rows are on screen now.
    await expect.poll(async () => Number((await rowsShown()).split('-')[1])).toBeGreaterThan(lastBefore);
  });

  it('builds the sandwich of a trimmed graph on the server from untrimmed totals', async () => {
    const expected = goTop(files.get('large')!);
    // The heaviest function by cumulative value: many callers and callees, most of them trimmed from the full graph.
    const [name, { cum }] = [...expected.entries()].sort((a, b) => b[1].cum - a[1].cum)[0];
    await page.goto(url('large', sizes[0].at, `&dashboard_items=flamegraph,sandwich&sandwich_function_name=${encodeURIComponent(name)}`));
    await page.locator('[data-testid=trim-note]').waitFor({ timeout: 150_000 });
    const status = (half: string) => page.locator(`[data-testid=sandwich-${half}] [data-testid=fg-status]`).textContent({ timeout: 150_000 });
    // Both halves hold every stack through the function, trimmed or not in the full graph: its whole cumulative value.
    expect(await status('callees')).toContain(`${formatValue(cum, 'nanoseconds')} total`);
    expect(await status('callers')).toContain(`${formatValue(cum, 'nanoseconds')} total`);
  });

  it('refuses to compare CPU with heap bytes and says why', async () => {
    const at = sizes[0].at;
    await page.goto(`${url('large', at)}&compare=true&expression_b=${encodeURIComponent('memory:inuse_space:bytes:space:bytes{job="heap"}')}&from_b=${at - 600_000}&to_b=${at + 600_000}&merge_from_b=${at}&merge_to_b=${at}`);
    const warning = page.locator('[data-testid=diff-mismatch]');
    await warning.waitFor();
    expect(await warning.textContent()).toContain('cpu (nanoseconds)');
    expect(await warning.textContent()).toContain('inuse_space (bytes)');
    expect(await page.locator('[data-testid=profile-view]').count()).toBe(0);
  });
});
