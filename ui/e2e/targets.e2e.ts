// The targets page against real scrape targets and a real push: parca scrapes its own /debug/pprof endpoints
// (one profile that exists, one the .NET server answers 404 for) and an address where nothing listens; a client
// pushes a profile through WriteRaw with a `node` label, which is how AgentsService learns about agents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { ProfileStoreService } from '../src/gen/parca/profilestore/v1alpha1/profilestore_pb';
import { ScrapeService } from '../src/gen/parca/scrape/v1alpha1/scrape_pb';
import { launchChromium, screenshots } from './browser';
import { freePort, startParca, testdata, type RunningServer } from './server';

let server: RunningServer;
let browser: Browser;
let page: Page;
let port: number;
let deadPort: number;

beforeAll(async () => {
  port = await freePort();
  deadPort = await freePort();
  const config = `object_storage:
  bucket:
    type: FILESYSTEM
    config:
      directory: ./data
scrape_configs:
  - job_name: self
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:${port}"]
        labels: { env: e2e }
    profiling_config:
      pprof_config:
        goroutine: { enabled: true }
        heap: { enabled: true, path: /debug/pprof/heap }
        memory: { enabled: false }
        block: { enabled: false }
        mutex: { enabled: false }
        process_cpu: { enabled: false }
  - job_name: offline
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:${deadPort}"]
    profiling_config:
      pprof_config:
        goroutine: { enabled: true }
        memory: { enabled: false }
        block: { enabled: false }
        mutex: { enabled: false }
        process_cpu: { enabled: false }
`;
  server = await startParca(['--config-path=parca.yaml'], { httpAddress: `127.0.0.1:${port}`, files: { 'parca.yaml': config } });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  page.on('pageerror', (e) => { throw e; });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('targets page against real targets', () => {
  it('lists scrape targets with health, last scrape and errors, and agents that pushed', async () => {
    const transport = createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true });
    // An agent is whoever pushes with a `node` label (parca-agent does).
    await createClient(ProfileStoreService, transport).writeRaw({
      series: [{
        labels: { labels: [{ name: '__name__', value: 'process_cpu' }, { name: 'node', value: 'e2e-node' }] },
        samples: [{ rawProfile: readFileSync(join(testdata, 'pprof/go-runtime/cpu.pb.gz')) }],
      }],
    });
    // Wait until every target was scraped once (1 s interval), so the page has something to show in each column.
    const scrape = createClient(ScrapeService, transport);
    await expect.poll(async () => {
      const r = await scrape.targets({});
      return Object.values(r.targets).flatMap((t) => t.targets).filter((t) => t.lastScrape !== undefined).length;
    }, { timeout: 30_000, interval: 500 }).toBe(3);

    await page.goto(`${server.url}/targets`);
    const self = page.locator('[data-testid=job-self]');
    await self.waitFor();
    const rows = async (job: string) => page.locator(`[data-testid=job-${job}] [data-testid=target]`).evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));

    const selfRows = await rows('self');
    expect(selfRows).toHaveLength(2);
    const goroutine = selfRows.find((r) => r[0].includes('/debug/pprof/goroutine'))!;
    expect(goroutine[0]).toBe(`http://127.0.0.1:${port}/debug/pprof/goroutine`);
    expect(goroutine[1]).toBe('up');
    expect(goroutine[2]).toContain('env="e2e"');
    expect(goroutine[2]).toContain('job="self"');
    expect(goroutine[3]).toMatch(/^(just now|\d+s ago)$/);
    expect(goroutine[4]).toMatch(/^\d+\.\d ms$/);
    expect(goroutine[5]).toBe('');
    // The .NET server has no live-heap profile: a real 404 with the server's reason.
    const heap = selfRows.find((r) => r[0].includes('/debug/pprof/heap'))!;
    expect(heap[1]).toBe('down');
    expect(heap[5]).toContain('404');
    expect(await page.locator('[data-testid=job-self] [data-testid=job-summary]').textContent()).toBe('(1 of 2 up)');

    const offline = await rows('offline');
    expect(offline).toHaveLength(1);
    expect(offline[0][0]).toBe(`http://127.0.0.1:${deadPort}/debug/pprof/goroutine`);
    expect(offline[0][1]).toBe('down');
    expect(offline[0][5].toLowerCase()).toContain('refused');

    const agents = await page.locator('[data-testid=agent]').evaluateAll((trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(agents).toHaveLength(1);
    expect(agents[0][0]).toContain('e2e-node');
    expect(agents[0][1]).toMatch(/^(just now|\d+s ago)$/);
    expect(agents[0][3]).toBe('');
    await page.screenshot({ path: join(screenshots, '11-targets-live.png'), fullPage: true });
  });

  it('shows the scraped profiles in the explorer', async () => {
    // The goroutine profiles the scraper stored are queryable like any other.
    await page.locator('header nav a', { hasText: 'Profiles' }).click();
    const select = page.locator('[data-testid=side-a-query] [data-testid=profile-type]');
    await select.waitFor();
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    const goroutine = options.find((o) => o.startsWith('goroutine:'))!;
    expect(goroutine).toBeDefined();
    await select.selectOption(goroutine);
    // Open the newest scrape: the rightmost point of the graph.
    const over = page.locator('[data-testid=side-a-graph] .u-over');
    await over.waitFor();
    const box = (await over.boundingBox())!;
    for (let x = box.x + box.width - 1; x > box.x; x -= 2) {
      await page.mouse.move(x, box.y + box.height / 2);
      if (await page.locator('[data-testid=side-a-graph] .tooltip').count()) break;
    }
    await page.mouse.down();
    await page.mouse.up();
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    // The server's own thread stacks are .NET: framework frames are there, and the preset hides every one of them.
    const names = () => page.locator('[data-testid=table] tbody tr td:nth-child(5)').allTextContents();
    await page.locator('[data-testid=search]').fill('/^(System|Microsoft)\\./');
    await expect.poll(async () => (await names()).length).toBeGreaterThan(0);
    await page.locator('[data-testid=search]').fill('');
    await page.locator('[data-testid=toggle-filters]').click();
    await page.locator('[data-testid=filter-preset]').selectOption('Hide .NET framework frames');
    await expect.poll(() => new URL(page.url()).searchParams.get('profile_filters'))
      .toBe('hide:function_name:starts_with:System.,hide:function_name:starts_with:Microsoft.');
    await page.locator('[data-testid=loading]').waitFor({ state: 'detached' });
    await page.locator('[data-testid=search]').fill('/^(System|Microsoft)\\./');
    await expect.poll(async () => (await names()).length).toBe(0);
    await page.locator('[data-testid=search]').fill('');
    await expect.poll(async () => (await names()).length).toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshots, '14-dotnet-preset.png'), fullPage: true });
  });

  it('keeps the last lists and says it could not load them when the server is down', async () => {
    await page.goto(`${server.url}/targets`);
    await page.locator('[data-testid=job-self]').waitFor();
    await server.stop();
    await page.locator('[data-testid=targets-refresh]').click();
    const error = page.locator('[data-testid=targets-error]');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/^Could not load the scrape targets: .+ — showing the last list that loaded\. Retry$/);
    expect(await page.locator('[data-testid=agents-error]').textContent()).toContain('Could not load the agents');
    // The jobs seen before are still listed, and nothing claims that none are configured.
    expect(await page.locator('[data-testid=job-self] [data-testid=target]').count()).toBe(2);
    expect(await page.locator('text=No scrape jobs are configured').count()).toBe(0);
    expect(await page.locator('[data-testid=agent]').count()).toBe(1);
  });
});
