// The flame chart of an agent-style CPU profile with several threads against a real parca: three 10 s profiles of
// each of two threads (the thread is a series label, as the agent's relabelled __meta_thread_comm becomes) are
// charted one lane per thread, each profile at its time, with the lanes' totals equal to the files' own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { ProfileStoreService } from '../src/gen/parca/profilestore/v1alpha1/profilestore_pb';
import { formatValue } from '../src/format/format';
import { launchChromium, screenshots } from './browser';
import { expected, readProfile } from './profiles';
import { startParca, testdata, type RunningServer } from './server';

const t0 = Date.UTC(2026, 10, 2, 12, 0, 0);
const threads = ['worker-1', 'worker-2'];
const times = [t0, t0 + 10_000, t0 + 20_000];
const file = join(testdata, 'pprof/go-runtime/cpu.pb.gz');

let server: RunningServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  server = await startParca();
  const client = createClient(ProfileStoreService, createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true }));
  for (const thread of threads) {
    for (const at of times) {
      const p = readProfile(file);
      p.timeNanos = BigInt(at) * 1_000_000n;
      p.durationNanos = 10_000_000_000n;
      await client.writeRaw({ series: [{
        labels: { labels: [{ name: '__name__', value: 'cpu' }, { name: 'job', value: 'chart' }, { name: 'thread', value: thread }] },
        samples: [{ rawProfile: gzipSync(p.encode()) }],
      }] });
    }
  }
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('pageerror', (e) => { throw e; });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('flame chart', () => {
  it('draws one lane per thread with every profile at its time', async () => {
    const query = encodeURIComponent('cpu:samples:count:cpu:nanoseconds:delta{job="chart"}');
    await page.goto(`${server.url}/?expression_a=${query}&from_a=${t0 - 600_000}&to_a=${t0 + 600_000}&merge_from_a=${t0}&merge_to_a=${t0 + 20_000}`
      + '&dashboard_items=flamegraph,flamechart&flamechart_dimension=thread');
    const lanes = page.locator('[data-testid=flamechart-lane]');
    await expect.poll(() => lanes.count(), { timeout: 60_000 }).toBe(2);
    const perLane = 3 * expected(readProfile(file), 'cpu').total;
    for (const [i, thread] of threads.entries()) {
      const lane = lanes.nth(i);
      expect(await lane.getAttribute('data-label')).toBe(`{thread="${thread}"}`);
      expect(await lane.getAttribute('data-windows')).toBe('3');
      expect(await lane.locator('.chart-lane-head').textContent()).toBe(`{thread="${thread}"} · ${formatValue(perLane, 'nanoseconds')}`);
      expect(Number(await lane.locator('[data-testid=flamechart-canvas]').getAttribute('data-drawn'))).toBeGreaterThan(3);
    }
    // Hovering the first window's top frame names it and its window's time.
    const canvas = lanes.nth(0).locator('[data-testid=flamechart-canvas]');
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + 2, box.y + 4);
    const tip = page.locator('[data-testid=flamechart-tooltip]');
    await tip.waitFor();
    expect(await tip.textContent()).toContain('12:00:00');
    // The lanes' label is in the URL, and the choice survives a reload.
    expect(new URL(page.url()).searchParams.get('flamechart_dimension')).toBe('thread');
    await page.reload();
    await expect.poll(() => page.locator('[data-testid=flamechart-lane]').count(), { timeout: 60_000 }).toBe(2);
    await page.screenshot({ path: join(screenshots, 'flamechart.png'), fullPage: true });
  });
});
