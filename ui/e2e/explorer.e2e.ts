// The profile explorer end to end: a real parca, the ten consecutive heap profiles of one process from
// ../shared/testdata ingested through WriteRaw, Debian's Chromium driving the built UI. Every assertion compares
// with values computed from the pprof files themselves. Screenshots land in artifacts/ui-screenshots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createClient } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import { ProfileStoreService } from '../src/gen/parca/profilestore/v1alpha1/profilestore_pb';
import { QueryService } from '../src/gen/parca/query/v1alpha1/query_pb';
import { formatPercent, formatValue } from '../src/format/format';
import { launchChromium, screenshots } from './browser';
import { decodePprof, expected, profileTimeMs, readProfile, sampleTypeIndex } from './profiles';
import { startParca, testdata, type RunningServer } from './server';

const manyDir = join(testdata, 'pprof/parca/many');
const files = readdirSync(manyDir).filter((f) => f.endsWith('.pb.gz')).sort();
const profiles = files.map((f) => readProfile(join(manyDir, f)));
const times = profiles.map(profileTimeMs);
const type = 'memory:inuse_space:bytes:space:bytes';
const from = times[0] - 60_000;
const to = times[times.length - 1] + 60_000;

let server: RunningServer;
let browser: Browser;
let page: Page;

async function shot(name: string) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Clicks the graph point of sample time `t` (uPlot's x scale spans exactly [from, to]). */
async function clickPoint(side: 'a' | 'b', t: number) {
  const over = page.locator(`[data-testid=side-${side}-graph] .u-over`);
  const box = (await over.boundingBox())!;
  const x = box.x + ((t - from) / (to - from)) * box.width;
  await page.mouse.move(x - 5, box.y + box.height / 2);
  await page.mouse.move(x, box.y + box.height / 2);
  // The tooltip shows once uPlot has placed its cursor on the point.
  await page.locator(`[data-testid=side-${side}-graph] .tooltip`).waitFor();
  await page.mouse.down();
  await page.mouse.up();
}

async function tableNames(): Promise<string[]> {
  return page.locator('[data-testid=table] tbody tr td:nth-child(5)').allTextContents();
}

beforeAll(async () => {
  server = await startParca();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, acceptDownloads: true });
  page.on('pageerror', (e) => { throw e; });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('profile explorer against a real parca', () => {
  beforeAll(async () => {
    // A precise failure when the server lacks the API the UI is built on (rather than 30 s timeouts per step).
    const transport = createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true });
    try {
      await createClient(QueryService, transport).profileTypes({});
    } catch (e) {
      throw new Error(`prerequisite missing: parca does not answer parca.query.v1alpha1.QueryService/ProfileTypes over gRPC-Web at /api (${String(e)})`);
    }
  });

  it('tells a new user how to send data when there is none', async () => {
    await page.goto(`${server.url}/`);
    await page.locator('[data-testid=empty-state]').waitFor();
    expect(await page.locator('[data-testid=empty-state]').textContent()).toContain('scrape_configs');
    await shot('01-empty-state');
  });

  it('ingests the profiles through WriteRaw (gRPC-Web)', async () => {
    const client = createClient(ProfileStoreService, createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true }));
    for (const f of files) {
      await client.writeRaw({
        series: [{
          labels: { labels: [{ name: '__name__', value: 'memory' }, { name: 'job', value: 'e2e' }, { name: 'instance', value: 'many' }] },
          samples: [{ rawProfile: readFileSync(join(manyDir, f)) }],
        }],
      });
    }
  });

  it('finds old recordings from an empty range and jumps to them', async () => {
    // The files were recorded in 2022: "Last 1h" is empty, and the UI says where the newest profile is.
    await page.goto(`${server.url}/?expression_a=${encodeURIComponent(`${type}{}`)}`);
    const empty = page.locator('[data-testid=side-a-query] ~ [data-testid=no-series]');
    await page.locator('[data-testid=jump-latest]').waitFor();
    expect(await empty.textContent()).toContain('The newest one is from 2022-02-10');
    expect(await page.locator('[data-testid=pick-hint]').count()).toBe(0);
    await shot('01b-empty-range-latest');
    await page.locator('[data-testid=jump-latest]').click();
    await page.locator('[data-testid=side-a-graph] .u-over').waitFor();
    const params = new URL(page.url()).searchParams;
    const last = times[times.length - 1];
    // Within the hour shown, with the newest profile (to the minute) near its right edge.
    expect(Number(params.get('from_a'))).toBeLessThan(times[0]);
    expect(Number(params.get('to_a'))).toBeGreaterThan(last);
    expect(Number(params.get('to_a')) - last).toBeLessThanOrEqual(6 * 60_000);
  });

  it('picks a profile type, shows the graph, opens a point with the expected top frames', async () => {
    await page.goto(`${server.url}/?from_a=${from}&to_a=${to}`);
    const select = page.locator('[data-testid=side-a-query] [data-testid=profile-type]');
    await select.waitFor();
    const options = await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toContain(type);
    expect(await select.locator(`option[value="${type}"]`).textContent()).toBe('Memory in-use bytes');
    await select.selectOption(type);
    await page.locator('[data-testid=side-a-graph] .u-over').waitFor();
    await shot('02-metrics-graph');

    await clickPoint('a', times[0]);
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    expect(page.url()).toContain(`merge_from_a=${times[0]}`);
    const exp = expected(profiles[0], 'inuse_space');
    // The table sorted by self value lists the heaviest leaf functions of the pprof file, in order.
    await page.locator('[data-testid=sort-flat]').click();
    const top = [...exp.flat.entries()].sort((x, y) => y[1] - x[1]).slice(0, 3).map(([n]) => n);
    expect((await tableNames()).slice(0, 3)).toEqual(top);
    const firstFlatShare = await page.locator('[data-testid=table] tbody tr:first-child td:nth-child(2)').textContent();
    expect(firstFlatShare).toBe(formatPercent(exp.flat.get(top[0])!, exp.total));
    await shot('03-flamegraph-and-table');
  });

  it('completes label names and values, and reports a malformed matcher inline', async () => {
    const input = page.locator('[data-testid=side-a-query] [data-testid=matchers]');
    await input.click();
    await input.pressSequentially('jo');
    const suggestions = page.locator('[data-testid=side-a-query] [data-testid=suggestions] div');
    await expect.poll(() => suggestions.allTextContents()).toEqual(['job']);
    await input.press('Tab');
    await expect.poll(() => input.inputValue()).toBe('job="');
    await expect.poll(() => suggestions.allTextContents()).toEqual(['e2e']);
    await input.press('Enter');
    await expect.poll(() => input.inputValue()).toBe('job="e2e"');
    await expect.poll(() => new URL(page.url()).searchParams.get('expression_a')).toBe(`${type}{job="e2e"}`);
    await page.locator('[data-testid=side-a-graph] .u-over').waitFor();
    await shot('03b-autocomplete');

    await input.fill('job=e2e');
    await input.press('Enter');
    expect(await page.locator('[data-testid=side-a-query] [data-testid=query-error]').textContent())
      .toBe('Label matchers: expected a double-quoted value for "job" at position 5');
    await input.fill('job="e2e"');
    await input.press('Enter');
    await expect.poll(() => page.locator('[data-testid=side-a-query] [data-testid=query-error]').count()).toBe(0);
    // The selection was reset by the new query: open the first profile again.
    await clickPoint('a', times[0]);
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
  });

  it('searches frames and reports the share of matching stacks', async () => {
    const exp = expected(profiles[0], 'inuse_space');
    await page.locator('[data-testid=search]').fill('sroar');
    await expect.poll(() => page.locator('[data-testid=match-share]').textContent()).toContain(`${formatPercent(exp.matching('sroar'), exp.total)} of total`);
    expect(await tableNames()).toEqual(['github.com/dgraph-io/sroar.init']);
    await shot('04-search');
    await page.locator('[data-testid=search]').fill('');
  });

  it('zooms into a frame, keeps it in the URL and restores it on reload', async () => {
    const exp = expected(profiles[0], 'inuse_space');
    const canvas = page.locator('[data-testid=flamegraph-canvas]');
    const box = (await canvas.boundingBox())!;
    // Row 1 (below the root), middle of the width: the heaviest top-level frame when it holds more than half.
    const [heaviest, value] = [...exp.rootChildren.entries()].sort((x, y) => y[1] - x[1])[0];
    await page.mouse.move(box.x + box.width / 2, box.y + 18 + 9);
    const hovered = await page.locator('[data-testid=fg-tooltip] .name').textContent();
    if (value / exp.total > 0.5) expect(hovered).toBe(heaviest);
    await page.mouse.click(box.x + box.width / 2, box.y + 18 + 9);
    const crumbs = page.locator('[data-testid=flamegraph] [data-testid=breadcrumb] button');
    await expect.poll(() => crumbs.count()).toBe(2);
    expect(await crumbs.nth(1).getAttribute('title')).toBe(hovered);
    expect(new URL(page.url()).searchParams.get('focus')).toBe(hovered);
    await shot('05-zoomed');
    await page.reload();
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    await expect.poll(() => crumbs.count()).toBe(2);
    expect(await crumbs.nth(1).getAttribute('title')).toBe(hovered);
    await page.keyboard.press('0');
    await expect.poll(() => crumbs.count()).toBe(1);
  });

  it('inverts the call stacks on the server: leaves become roots', async () => {
    const exp = expected(profiles[0], 'inuse_space');
    const [leaf, value] = [...exp.flat.entries()].sort((x, y) => y[1] - x[1])[0];
    expect(value / exp.total).toBeGreaterThan(0.5);
    await page.locator('[data-testid=invert]').check();
    await expect.poll(() => new URL(page.url()).searchParams.get('invert_call_stack')).toBe('true');
    await page.locator('[data-testid=loading]').waitFor({ state: 'detached' });
    const box = (await page.locator('[data-testid=flamegraph-canvas]').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 18 + 9);
    await expect.poll(() => page.locator('[data-testid=fg-tooltip] .name').textContent()).toBe(leaf);
    // The table keeps its meaning: self values are still those of the leaves.
    await expect.poll(async () => (await tableNames())[0]).toBe(leaf);
    await shot('05b-inverted');
    await page.locator('[data-testid=invert]').uncheck();
    await page.locator('[data-testid=loading]').waitFor({ state: 'detached' });
  });

  it('trims small nodes on the server and says how much was trimmed', async () => {
    // The last profile has frames below 1 % of its total (the first one has none).
    await clickPoint('a', times[times.length - 1]);
    await expect.poll(() => new URL(page.url()).searchParams.get('merge_from_a')).toBe(String(times[times.length - 1]));
    await page.locator('[data-testid=loading]').waitFor({ state: 'detached' });
    const status = page.locator('[data-testid=flamegraph] [data-testid=fg-status]');
    const nodes = async () => Number(/([\d,]+) nodes/.exec((await status.textContent()) ?? '')![1].replace(/,/g, ''));
    const before = await nodes();
    await page.locator('[data-testid=trim]').selectOption('1');
    await page.locator('[data-testid=trimmed]').waitFor();
    expect(await nodes()).toBeLessThan(before);
    expect(new URL(page.url()).searchParams.get('trim')).toBe('1');
    await shot('05c-trimmed');
    await page.locator('[data-testid=trim]').selectOption('0');
    await page.locator('[data-testid=trimmed]').waitFor({ state: 'detached' });
    await clickPoint('a', times[0]);
    await expect.poll(() => new URL(page.url()).searchParams.get('merge_from_a')).toBe(String(times[0]));
    await page.locator('[data-testid=loading]').waitFor({ state: 'detached' });
  });

  it('downloads the profile as pprof with the same total', async () => {
    const exp = expected(profiles[0], 'inuse_space');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=download]').click()]);
    const path = await download.path();
    const p = decodePprof(readFileSync(path!));
    const k = sampleTypeIndex(p, 'inuse_space');
    const total = p.sample.reduce((a, s) => a + Number(s.value[k]), 0);
    expect(total).toBe(exp.total);
  });

  it('filters stacks and frames, says how much was filtered, keeps filters in the URL and the download', async () => {
    const exp = expected(profiles[0], 'inuse_space');
    const removed = exp.matching('sroar');
    expect(removed).toBeGreaterThan(0);
    await page.locator('[data-testid=toggle-filters]').click();
    await page.locator('[data-testid=filter-form]').waitFor();
    // The value field suggests the profile's functions, heaviest first.
    const suggested = await page.locator('#filter-functions option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(suggested).toContain('github.com/dgraph-io/sroar.init');
    expect(suggested.indexOf('runtime.main')).toBeLessThan(suggested.indexOf('github.com/dgraph-io/sroar.init'));
    expect(suggested.length).toBe(new Set(suggested).size);
    // Defaults: drop stacks where function contains …
    await page.locator('[data-testid=filter-value]').fill('sroar');
    await page.locator('[data-testid=filter-add]').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('profile_filters')).toBe('drop:function_name:contains:sroar');
    const note = page.locator('[data-testid=filtered]');
    await expect.poll(() => note.textContent()).toContain(`Filters removed ${formatPercent(removed, exp.total)} (${formatValue(removed, 'bytes')}) of ${formatValue(exp.total, 'bytes')}`);
    await expect.poll(() => page.locator('[data-testid=flamegraph] [data-testid=fg-status]').textContent())
      .toContain(`${formatValue(exp.total - removed, 'bytes')} total`);
    expect((await tableNames()).some((n) => n.includes('sroar'))).toBe(false);
    expect(await page.locator('[data-testid=filter-chip]').allTextContents()).toEqual(['drop stacks: function contains sroar×']);
    await shot('05d-filter-drop-stacks');
    // The download applies the same filters.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=download]').click()]);
    const p = decodePprof(readFileSync((await download.path())!));
    const k = sampleTypeIndex(p, 'inuse_space');
    expect(p.sample.reduce((a, x) => a + Number(x.value[k]), 0)).toBe(exp.total - removed);
    // A reload restores the filter from the URL.
    await page.reload();
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    expect(await page.locator('[data-testid=filter-chip]').count()).toBe(1);

    // A frame filter hides frames but keeps every sample: runtime.* frames go, the total stays.
    expect((await page.locator('[data-testid=table] tbody tr td:nth-child(5)').allTextContents()).length).toBeGreaterThan(0);
    await page.locator('[data-testid=filter-chip] button').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('profile_filters')).toBeNull();
    await page.locator('[data-testid=search]').fill('runtime.');
    await expect.poll(async () => (await tableNames()).length).toBeGreaterThan(0);
    await page.locator('[data-testid=search]').fill('');
    // Esc leaves the search box; then `f` opens the filter form with the value field focused.
    await page.locator('[data-testid=search]').press('Escape');
    await page.keyboard.press('f');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('filter-value');
    await page.locator('[data-testid=filter-action]').selectOption('hide');
    await page.locator('[data-testid=filter-op]').selectOption('starts_with');
    await page.locator('[data-testid=filter-value]').fill('runtime.');
    await page.locator('[data-testid=filter-value]').press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('profile_filters')).toBe('hide:function_name:starts_with:runtime.');
    await expect.poll(() => note.textContent()).toContain('Filters removed no stacks');
    await page.locator('[data-testid=search]').fill('runtime.');
    await expect.poll(async () => (await tableNames()).length).toBe(0);
    expect(await page.locator('[data-testid=flamegraph] [data-testid=fg-status]').textContent()).toContain(`${formatValue(exp.total, 'bytes')} total`);
    await page.locator('[data-testid=search]').fill('');
    await shot('05e-filter-hide-frames');
    // An invalid number is refused in the form with a reason, nothing is sent.
    await page.locator('[data-testid=filter-field]').selectOption('address');
    await page.locator('[data-testid=filter-value]').fill('12x');
    await page.locator('[data-testid=filter-add]').click();
    expect(await page.locator('[data-testid=filter-error]').textContent()).toBe('"12x" is not a number (decimal or 0x hex)');
    await page.locator('[data-testid=filter-chip] button').click();
    await expect.poll(() => new URL(page.url()).searchParams.get('profile_filters')).toBeNull();
    await page.locator('[data-testid=toggle-filters]').click();
    await page.locator('[data-testid=loading]').waitFor({ state: 'detached' });
  });

  it('shows the sandwich of a function', async () => {
    await page.locator('[data-testid=table] tbody tr', { hasText: 'github.com/dgraph-io/sroar.init' }).first().dblclick();
    await page.locator('[data-testid=sandwich-callers] canvas[data-drawn]').waitFor();
    await page.locator('[data-testid=sandwich-callees] canvas[data-drawn]').waitFor();
    expect(new URL(page.url()).searchParams.get('sandwich_function_name')).toBe('github.com/dgraph-io/sroar.init');
    await shot('06-sandwich');
    await page.locator('[data-testid=toggle-sandwich]').click();
  });

  it('merges a brushed range: the total is the sum of the profiles inside it', async () => {
    const over = page.locator('[data-testid=side-a-graph] .u-over');
    const box = (await over.boundingBox())!;
    const px = (t: number) => box.x + ((t - from) / (to - from)) * box.width;
    await page.mouse.move(px(times[0] - 1000), box.y + 20);
    await page.mouse.down();
    await page.mouse.move(px(times[2] + 1000), box.y + 40, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => new URL(page.url()).searchParams.get('merge_to_a')).not.toBe(String(times[0]));
    const params = new URL(page.url()).searchParams;
    expect(Number(params.get('merge_from_a'))).toBeLessThan(times[0]);
    expect(Number(params.get('merge_to_a'))).toBeGreaterThan(times[2]);
    expect(Number(params.get('merge_to_a'))).toBeLessThan(times[3]);
    const sum = profiles.slice(0, 3).reduce((a, p) => a + expected(p, 'inuse_space').total, 0);
    await expect.poll(() => page.locator('[data-testid=flamegraph] [data-testid=fg-status]').textContent())
      .toContain(`${formatValue(sum, 'bytes')} total`);
    await shot('06b-merged-range');
    // Back to the first profile, through the context menu's sandwich entry on the way.
    await clickPoint('a', times[0]);
    await expect.poll(() => new URL(page.url()).searchParams.get('merge_to_a')).toBe(String(times[0]));
    const canvas = (await page.locator('[data-testid=flamegraph-canvas]').boundingBox())!;
    await page.mouse.click(canvas.x + canvas.width / 2, canvas.y + 18 + 9, { button: 'right' });
    await page.locator('[data-testid=context-menu]').waitFor();
    await page.locator('[data-testid=context-menu] div', { hasText: 'Show in sandwich' }).click();
    // The middle of row 1 is the heaviest top-level frame (over half of the total in this profile).
    const [heaviest, value] = [...expected(profiles[0], 'inuse_space').rootChildren.entries()].sort((x, y) => y[1] - x[1])[0];
    expect(value / expected(profiles[0], 'inuse_space').total).toBeGreaterThan(0.5);
    await expect.poll(() => new URL(page.url()).searchParams.get('sandwich_function_name')).toBe(heaviest);
    await page.locator('[data-testid=sandwich-callees] canvas[data-drawn]').waitFor();
    await page.locator('[data-testid=toggle-sandwich]').click();
  });

  it('compares two points as a diff flame graph and table', async () => {
    await page.locator('[data-testid=compare]').click();
    await page.locator('[data-testid=side-b-graph] .u-over').waitFor();
    expect(await page.locator('[data-testid=diff-legend]').count()).toBe(0);
    await clickPoint('b', times[times.length - 1]);
    await page.locator('[data-testid=diff-legend]').waitFor();
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    const headers = await page.locator('[data-testid=table] thead th').allTextContents();
    expect(headers.some((h) => h.startsWith('Cum diff'))).toBe(true);
    expect(page.url()).toContain(`merge_from_b=${times[times.length - 1]}`);
    expect(await page.locator('[data-testid=profile-title]').textContent()).toContain(' vs ');
    // The diff is drawn on B's values: its total is the last profile's.
    const last = expected(profiles[profiles.length - 1], 'inuse_space');
    expect(await page.locator('[data-testid=flamegraph] [data-testid=fg-status]').textContent()).toContain(`${formatValue(last.total, 'bytes')} total`);
    await shot('07-compare');
    await page.locator('[data-testid=diff-mode]').selectOption('absolute');
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    expect(page.url()).toContain('compare_absolute=true');
  });

  it('shows a delta CPU profile: cores over time, the point covers [t, t + duration]', async () => {
    const path = join(testdata, 'pprof/go-runtime/cpu.pb.gz');
    const cpu = readProfile(path);
    const client = createClient(ProfileStoreService, createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true }));
    await client.writeRaw({
      series: [{
        labels: { labels: [{ name: '__name__', value: 'process_cpu' }, { name: 'job', value: 'goapp' }] },
        samples: [{ rawProfile: readFileSync(path) }],
      }],
    });
    const t = profileTimeMs(cpu);
    const cpuFrom = t - 60_000;
    const cpuTo = t + 60_000;
    await page.goto(`${server.url}/?expression_a=${encodeURIComponent('process_cpu:samples:count:cpu:nanoseconds:delta{job="goapp"}')}&from_a=${cpuFrom}&to_a=${cpuTo}`);
    expect(await page.locator('[data-testid=side-a-query] [data-testid=profile-type] option:checked').textContent()).toBe('Process CPU samples');
    const over = page.locator('[data-testid=side-a-graph] .u-over');
    await over.waitFor();
    const box = (await over.boundingBox())!;
    const x = box.x + ((t - cpuFrom) / (cpuTo - cpuFrom)) * box.width;
    await page.mouse.move(x - 5, box.y + box.height / 2);
    await page.mouse.move(x, box.y + box.height / 2);
    await page.locator('[data-testid=side-a-graph] .tooltip').waitFor();
    // CPU time per second is shown in cores: total CPU time over the profile's duration.
    const cores = (exp0: number) => `${exp0.toFixed(3)} cores`;
    const expSamples = expected(cpu, 'samples');
    expect(await page.locator('[data-testid=side-a-graph] .tooltip').textContent())
      .toContain(cores((expSamples.total * Number(cpu.period)) / Number(cpu.durationNanos)));
    await page.mouse.down();
    await page.mouse.up();
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    const params = new URL(page.url()).searchParams;
    expect(Number(params.get('merge_to_a')) - Number(params.get('merge_from_a'))).toBe(Math.round(Number(cpu.durationNanos) / 1e6));
    // Samples become CPU time (value × period): shares as `go tool pprof -top` prints them for this file.
    const exp = expected(cpu, 'samples');
    await page.locator('[data-testid=sort-flat]').click();
    const top = [...exp.flat.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    expect((await tableNames()).slice(0, 3)).toEqual(top.map(([n]) => n));
    expect(await page.locator('[data-testid=table] tbody tr:first-child td:nth-child(2)').textContent()).toBe(formatPercent(top[0][1], exp.total));
    expect(await page.locator('[data-testid=flamegraph] [data-testid=fg-status]').textContent())
      .toContain(`${formatValue(exp.total * Number(cpu.period), 'nanoseconds')} total`);
    await shot('10-cpu-delta');
  });

  it('sums the graph by several labels and groups the flame graph by a pprof label', async () => {
    // labels.pb.gz: a CPU profile where some samples carry the pprof label api="query".
    const path = join(testdata, 'pprof/parca/labels.pb.gz');
    const prof = readProfile(path);
    const client = createClient(ProfileStoreService, createGrpcWebTransport({ baseUrl: `${server.url}/api`, useBinaryFormat: true }));
    await client.writeRaw({
      series: [{
        labels: { labels: [{ name: '__name__', value: 'process_cpu' }, { name: 'job', value: 'labels' }, { name: 'region', value: 'eu' }] },
        samples: [{ rawProfile: readFileSync(path) }],
      }],
    });
    const cpuType = 'process_cpu:samples:count:cpu:nanoseconds:delta';
    const goTime = profileTimeMs(readProfile(join(testdata, 'pprof/go-runtime/cpu.pb.gz')));
    const t = profileTimeMs(prof);
    const [rFrom, rTo] = [Math.min(t, goTime) - 60_000, Math.max(t, goTime) + 60_000];
    await page.goto(`${server.url}/?expression_a=${encodeURIComponent(`${cpuType}{}`)}&from_a=${rFrom}&to_a=${rTo}&sum_by_a=`);
    await page.locator('[data-testid=side-a-graph] .u-over').waitFor();
    await page.locator('[data-testid=side-a-query] [data-testid=sum-by]').click();
    const menu = page.locator('[data-testid=side-a-query] [data-testid=sum-by-menu]');
    await menu.locator('input[value=job]').check();
    await menu.locator('input[value=region]').check();
    await expect.poll(() => new URL(page.url()).searchParams.get('sum_by_a')).toBe('job,region');
    await expect.poll(async () => (await page.locator('[data-testid=series-legend] span').allTextContents()).sort())
      .toEqual(['job="goapp"', 'job="labels", region="eu"']);
    await shot('12a-sum-by-menu');
    await page.keyboard.press('Escape');
    expect(await page.locator('[data-testid=side-a-query] [data-testid=sum-by]').textContent()).toContain('job, region');
    await shot('12-sum-by-two-labels');

    const duration = Math.round(Number(prof.durationNanos) / 1e6);
    await page.goto(`${server.url}/?expression_a=${encodeURIComponent(`${cpuType}{job="labels"}`)}&from_a=${rFrom}&to_a=${rTo}&merge_from_a=${t}&merge_to_a=${t + duration}`);
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    await page.locator('[data-testid=group-by]').click();
    const groupMenu = page.locator('[data-testid=group-by-menu]');
    // The label names come from the profile (PROFILE_METADATA): pprof label api and the series labels.
    await groupMenu.locator('input[value="labels.api"]').waitFor();
    await groupMenu.locator('input[value="labels.api"]').check();
    await expect.poll(() => new URL(page.url()).searchParams.get('group_by')).toBe('function_name,labels.api');
    await shot('13a-group-by-menu');
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=loading]').waitFor({ state: 'detached' });
    const k = sampleTypeIndex(prof, 'samples');
    const apiKey = prof.stringTable.strings.indexOf('api');
    const withLabel = prof.sample.filter((x) => x.label.some((l) => Number(l.key) === apiKey)).reduce((a, x) => a + Number(x.value[k]), 0);
    const total = expected(prof, 'samples').total;
    expect(withLabel).toBeGreaterThan(0);
    // The label group is a node of its own: searching for it gives exactly the labelled samples' share.
    await page.locator('[data-testid=search]').fill('api="query"');
    await expect.poll(() => page.locator('[data-testid=match-share]').textContent()).toContain(`${formatPercent(withLabel, total)} of total`);
    // Label groups are not functions: the table does not list them.
    expect(await tableNames()).toEqual([]);
    await shot('13-group-by-label');
    await page.locator('[data-testid=search]').fill('');
    await page.reload();
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    expect(await page.locator('[data-testid=group-by]').textContent()).toContain('Function, api');
  });

  it('shows the targets page and dark mode', async () => {
    await page.locator('header nav a', { hasText: 'Targets' }).click();
    await page.locator('[data-testid=targets-page]').waitFor();
    await shot('08-targets');
    await page.locator('header nav a', { hasText: 'Profiles' }).click();
    await page.locator('[data-testid=theme]').click();
    expect(await page.evaluate(() => document.documentElement.classList.contains('dark'))).toBe(true);
    await page.locator('[data-testid=flamegraph-canvas][data-drawn]').waitFor();
    await shot('09-dark');
  });
});

describe('serving under --path-prefix', () => {
  let prefixed: RunningServer;
  beforeAll(async () => { prefixed = await startParca(['--path-prefix=/parca']); });
  afterAll(async () => { await prefixed?.stop(); });

  it('injects the prefix, serves assets and client routes, leaves API 404s alone', async () => {
    const index = await (await fetch(`${prefixed.url}/parca/`)).text();
    expect(index).toContain("window.PATH_PREFIX = '/parca'");
    expect(index).toContain('<base href="/parca/" />');
    const asset = /assets\/[^"]+\.js/.exec(index)![0];
    const js = await fetch(`${prefixed.url}/parca/${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    const targets = await fetch(`${prefixed.url}/parca/targets`, { headers: { accept: 'text/html' } });
    expect(targets.status).toBe(200);
    expect(await targets.text()).toContain("window.PATH_PREFIX = '/parca'");
    expect((await fetch(`${prefixed.url}/parca/no-such-api`)).status).toBe(404);
    const p = await browser.newPage();
    await p.goto(`${prefixed.url}/parca/targets`);
    await p.locator('[data-testid=targets-page]').waitFor();
    // The app calls the API under the prefix too: an empty server answers ProfileTypes with nothing.
    await p.locator('header nav a', { hasText: 'Profiles' }).click();
    await p.locator('[data-testid=empty-state]').waitFor();
    expect(p.url()).toBe(`${prefixed.url}/parca/`);
    expect(await p.locator('[data-testid=empty-state] pre').nth(2).textContent()).toContain(`${prefixed.url}/parca/ingest?name=process_cpu`);
    await p.close();
  });
});
