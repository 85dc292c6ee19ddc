// The UI's only door to the server: Parca's QueryService / ScrapeService / AgentsService over gRPC-Web at
// `<path-prefix>/api/<service>/<method>`, the same API external clients use. Requests are built from the generated
// messages (src/gen, from proto/); this file turns view state into requests and responses into UI data.
import { create } from '@bufbuild/protobuf';
import { timestampFromMs, type Timestamp } from '@bufbuild/protobuf/wkt';
import { ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-web';
import {
  FilterCriteriaSchema, FilterSchema, FrameFilterSchema, GroupBySchema, MergeProfileSchema, NumberConditionSchema, StackFilterSchema,
  StringConditionSchema, ProfileDiffSelection_Mode, ProfileDiffSelectionSchema, QueryRequest_Mode,
  QueryRequest_ReportType, QueryRequestSchema, QueryService, SourceReferenceSchema, type QueryRequest,
} from '../gen/parca/query/v1alpha1/query_pb';
import { ScrapeService } from '../gen/parca/scrape/v1alpha1/scrape_pb';
import { AgentsService } from '../gen/parca/profilestore/v1alpha1/profilestore_pb';
import { decodeFlameGraph, type FlameGraph } from '../arrow/flamegraph';
import { decodeServerTable, type ServerTable } from '../table/serverTable';
import { decodeSourceRecord, sourceLines, type SourceLine, type SourceRef } from '../source/source';
import { profileTypeKey } from '../format/profileTypes';
import { toWire, type ProfileFilter } from '../state/filters';

declare global {
  interface Window { PATH_PREFIX?: string; APP_VERSION?: string }
}

export interface Api {
  query: Client<typeof QueryService>;
  scrape: Client<typeof ScrapeService>;
  agents: Client<typeof AgentsService>;
}

export function createApi(baseUrl?: string): Api {
  const prefix = typeof window !== 'undefined' ? window.PATH_PREFIX ?? '' : '';
  const transport = createGrpcWebTransport({
    baseUrl: baseUrl ?? `${typeof location !== 'undefined' ? location.origin : ''}${prefix}/api`,
    useBinaryFormat: true,
  });
  return {
    query: createClient(QueryService, transport),
    scrape: createClient(ScrapeService, transport),
    agents: createClient(AgentsService, transport),
  };
}

/** The message a user should read: the server's status message, without the transport's "[code]" decoration. */
export function errorText(e: unknown): string {
  if (e instanceof ConnectError) return `${e.rawMessage || e.message} (${codeName(e.code)})`;
  return e instanceof Error ? e.message : String(e);
}

function codeName(code: number): string {
  return ['ok', 'canceled', 'unknown', 'invalid argument', 'deadline exceeded', 'not found', 'already exists',
    'permission denied', 'resource exhausted', 'failed precondition', 'aborted', 'out of range', 'unimplemented',
    'internal', 'unavailable', 'data loss', 'unauthenticated'][code] ?? `code ${code}`;
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ConnectError && e.code === 5;
}

const ts = (ms: number): Timestamp => timestampFromMs(ms);

/** Milliseconds of a timestamp, truncated (timestampMs rounds: …337.903 ms would become …338 and miss the profile). */
export function msOf(t: Timestamp): number {
  return Number(t.seconds) * 1000 + Math.floor(t.nanos / 1_000_000);
}

export async function profileTypes(api: Api, from?: number, to?: number): Promise<string[]> {
  const res = await api.query.profileTypes(from !== undefined && to !== undefined ? { start: ts(from), end: ts(to) } : {});
  return res.types.map((t) => profileTypeKey({
    name: t.name, sampleType: t.sampleType, sampleUnit: t.sampleUnit, periodType: t.periodType, periodUnit: t.periodUnit, delta: t.delta,
  })).sort();
}

export async function labelNames(api: Api, profileType: string, match: string[], from: number, to: number): Promise<string[]> {
  const res = await api.query.labels({ profileType, match, start: ts(from), end: ts(to) });
  return res.labelNames;
}

export async function labelValues(api: Api, profileType: string, label: string, match: string[], from: number, to: number): Promise<string[]> {
  const res = await api.query.values({ profileType, labelName: label, match, start: ts(from), end: ts(to) });
  return res.labelValues;
}

/**
 * A point of a metrics series. When a step of a heap or other gauge series holds several profiles the server sends
 * their range (our max_value/min_value/max_timestamp): the point is then the step's peak, at the peak profile's
 * time, so downsampling never hides a spike and clicking the point opens that profile; `min` is the step's low.
 */
export interface SeriesPoint { t: number; value: number; perSecond: number; duration: number; count: number; min?: number }
export interface Series { labels: Record<string, string>; points: SeriesPoint[]; unit: string }

export async function queryRange(api: Api, query: string, from: number, to: number, stepMs: number, sumBy: string[]): Promise<Series[]> {
  const step = Math.max(1, Math.round(stepMs));
  const res = await api.query.queryRange({
    query, start: ts(from), end: ts(to),
    step: { seconds: BigInt(Math.floor(step / 1000)), nanos: (step % 1000) * 1e6 },
    sumBy,
  });
  return res.series.map((s) => ({
    labels: Object.fromEntries((s.labelset?.labels ?? []).map((l) => [l.name, l.value])),
    unit: s.sampleType?.unit ?? '',
    points: s.samples.map((p) => (p.maxTimestamp
      ? { t: msOf(p.maxTimestamp), value: Number(p.maxValue), perSecond: Number(p.maxValue), duration: Number(p.duration), count: p.count, min: Number(p.minValue) }
      : { t: p.timestamp ? msOf(p.timestamp) : 0, value: Number(p.value), perSecond: p.valuePerSecond, duration: Number(p.duration), count: p.count })),
  }));
}

export interface ProfileSelection { query: string; from: number; to: number }

export interface ReportOptions {
  groupBy: string[];
  invert: boolean;
  /** Percent of the total under which nodes are trimmed by the server. */
  trim?: number;
  absolute?: boolean;
  filters?: ProfileFilter[];
  /** Only stacks through this function, cut at it (Parca's sandwich_by_function): callees, or callers when inverted. */
  sandwich?: string;
}

/** Parca's Filter message for a user filter (state/filters.ts decides stack/frame and the condition). */
export function filterMessage(f: ProfileFilter) {
  const w = toWire(f);
  const criteria = create(FilterCriteriaSchema, {});
  if (w.field === 'address' || w.field === 'lineNumber') {
    criteria[w.field] = create(NumberConditionSchema, { condition: { case: w.condition === 'equal' ? 'equal' : 'notEqual', value: w.value as bigint } });
  } else {
    criteria[w.field] = create(StringConditionSchema, { condition: { case: w.condition, value: w.value as string } });
  }
  return create(FilterSchema, w.kind === 'stackFilter'
    ? { filter: { case: 'stackFilter', value: create(StackFilterSchema, { filter: { case: 'criteria', value: criteria } }) } }
    : { filter: { case: 'frameFilter', value: create(FrameFilterSchema, { filter: { case: 'criteria', value: criteria } }) } });
}

/** The last nanosecond of a millisecond: the UI works in ms, profiles carry ns timestamps (…337.470 ms). */
function endOfMs(ms: number): Timestamp {
  const t = timestampFromMs(ms);
  t.nanos += 999_999;
  return t;
}

function merge(sel: ProfileSelection) {
  // Inclusive of the whole last millisecond, so a clicked point [t, t] selects the profile taken during ms t.
  return create(MergeProfileSchema, { query: sel.query, start: ts(sel.from), end: endOfMs(sel.to) });
}

export function buildRequest(a: ProfileSelection, b: ProfileSelection | null, report: QueryRequest_ReportType, o: ReportOptions): QueryRequest {
  const req = create(QueryRequestSchema, {
    reportType: report,
    groupBy: create(GroupBySchema, { fields: o.groupBy }),
    invertCallStack: o.invert,
  });
  if (o.trim !== undefined) req.nodeTrimThreshold = o.trim;
  if (o.sandwich) req.sandwichByFunction = o.sandwich;
  for (const f of o.filters ?? []) req.filter.push(filterMessage(f));
  if (b) {
    req.mode = QueryRequest_Mode.DIFF;
    const side = (s: ProfileSelection) => create(ProfileDiffSelectionSchema, {
      mode: ProfileDiffSelection_Mode.MERGE, options: { case: 'merge', value: merge(s) },
    });
    req.options = { case: 'diff', value: { $typeName: 'parca.query.v1alpha1.DiffProfile', a: side(a), b: side(b), absolute: o.absolute ?? false } };
  } else {
    req.mode = QueryRequest_Mode.MERGE;
    req.options = { case: 'merge', value: merge(a) };
  }
  return req;
}

export interface FlameResult {
  graph: FlameGraph; total: number; filtered: number; bytes: number; decodeMs: number;
  /** Threshold the server applied (percent), above the asked one when it trimmed to fit the message limit. */
  appliedTrim: number;
  /** Why the server trimmed more than asked ('' when it did not). */
  trimReason: string;
  totalNodes: number;
  keptNodes: number;
}

export async function queryFlameGraph(api: Api, a: ProfileSelection, b: ProfileSelection | null, o: ReportOptions, signal?: AbortSignal): Promise<FlameResult> {
  // User Timing entries (request, decode; the view adds its draw): where the time to a painted graph goes, read by
  // the browser tests and visible in any performance trace.
  const asked = performance.now();
  const res = await api.query.query(buildRequest(a, b, QueryRequest_ReportType.FLAMEGRAPH_ARROW, o), { signal });
  if (res.report.case !== 'flamegraphArrow') throw new Error(`server answered with a ${res.report.case ?? 'empty'} report, expected flamegraph_arrow`);
  const fa = res.report.value;
  const t0 = performance.now();
  mark('flamegraph request', asked, t0);
  const graph = decodeFlameGraph(fa.record, fa.unit, Number(fa.trimmed), b !== null);
  mark('flamegraph decode', t0, performance.now());
  return {
    graph, total: Number(res.total), filtered: Number(res.filtered), bytes: fa.record.length, decodeMs: performance.now() - t0,
    appliedTrim: fa.appliedTrimThreshold, trimReason: fa.trimReason, totalNodes: Number(fa.totalNodes), keptNodes: Number(fa.keptNodes),
  };
}

/** The latest span of one name as a User Timing measure (one entry per name, however long the page lives). */
function mark(name: string, start: number, end: number): void {
  performance.clearMeasures(name);
  performance.measure(name, { start, end });
}

/**
 * The sandwich of `name` from the server: callers (inverted stacks cut at the function) and callees (stacks from the
 * function on), each its own flame graph over the untrimmed profile, so nothing trimmed from the full graph is missing.
 */
export async function querySandwich(api: Api, a: ProfileSelection, b: ProfileSelection | null, o: ReportOptions, name: string, signal?: AbortSignal): Promise<{ callers: FlameGraph; callees: FlameGraph }> {
  const [callers, callees] = await Promise.all([
    queryFlameGraph(api, a, b, { ...o, invert: true, sandwich: name }, signal),
    queryFlameGraph(api, a, b, { ...o, invert: false, sandwich: name }, signal),
  ]);
  return { callers: callers.graph, callees: callees.graph };
}

/**
 * The flame chart of a selection (REPORT_TYPE_FLAMECHART): the server groups by profile timestamp and, when a
 * dimension is given, by that label first; the labels-only rows carry the timestamps.
 */
export async function queryFlameChart(api: Api, a: ProfileSelection, o: ReportOptions, dimension: string, signal?: AbortSignal): Promise<FlameGraph> {
  const groupBy = [...o.groupBy.filter((g) => !g.startsWith('labels.')), ...(dimension ? [`labels.${dimension}`] : [])];
  const res = await api.query.query(buildRequest(a, null, QueryRequest_ReportType.FLAMECHART, { ...o, groupBy, invert: false }), { signal });
  if (res.report.case !== 'flamegraphArrow') throw new Error(`server answered with a ${res.report.case ?? 'empty'} report, expected flamegraph_arrow`);
  return decodeFlameGraph(res.report.value.record, res.report.value.unit, Number(res.report.value.trimmed));
}

/** Per-function totals of the untrimmed profile (TABLE_ARROW): the table when the flame graph was trimmed. */
export async function queryTable(api: Api, a: ProfileSelection, b: ProfileSelection | null, o: ReportOptions, signal?: AbortSignal): Promise<ServerTable> {
  const res = await api.query.query(buildRequest(a, b, QueryRequest_ReportType.TABLE_ARROW, { ...o, invert: false, trim: undefined }), { signal });
  if (res.report.case !== 'tableArrow') throw new Error(`server answered with a ${res.report.case ?? 'empty'} report, expected table_arrow`);
  return decodeServerTable(res.report.value.record, b !== null);
}

export async function queryPprof(api: Api, a: ProfileSelection, b: ProfileSelection | null, o: ReportOptions): Promise<Uint8Array> {
  const res = await api.query.query(buildRequest(a, b, QueryRequest_ReportType.PPROF, { ...o, trim: undefined }));
  if (res.report.case !== 'pprof') throw new Error(`server answered with a ${res.report.case ?? 'empty'} report, expected pprof`);
  return res.report.value;
}

export interface SourceResult { lines: SourceLine[]; unit: string }

/** One file's text with per-line cumulative/flat (REPORT_TYPE_SOURCE with source_reference), for the same selection. */
export async function querySource(api: Api, a: ProfileSelection, b: ProfileSelection | null, o: ReportOptions, ref: SourceRef, signal?: AbortSignal): Promise<SourceResult> {
  const req = buildRequest(a, b, QueryRequest_ReportType.SOURCE, { ...o, invert: false, trim: undefined, groupBy: [] });
  req.sourceReference = create(SourceReferenceSchema, { buildId: ref.buildId, filename: ref.filename });
  const res = await api.query.query(req, { signal });
  if (res.report.case !== 'source') throw new Error(`server answered with a ${res.report.case ?? 'empty'} report, expected source`);
  const { cumulative, flat } = decodeSourceRecord(res.report.value.record);
  return { lines: sourceLines(res.report.value.source, cumulative, flat), unit: res.report.value.unit };
}

export interface ProfileMetadataResult { labels: string[]; mappingFiles: string[] }

/** Label names and binaries of the selected profile (REPORT_TYPE_PROFILE_METADATA): the group-by and filter menus. */
export async function queryMetadata(api: Api, a: ProfileSelection, b: ProfileSelection | null, signal?: AbortSignal): Promise<ProfileMetadataResult> {
  const res = await api.query.query(buildRequest(a, b, QueryRequest_ReportType.PROFILE_METADATA, { groupBy: [], invert: false }), { signal });
  if (res.report.case !== 'profileMetadata') throw new Error(`server answered with a ${res.report.case ?? 'empty'} report, expected profile_metadata`);
  return { labels: res.report.value.labels, mappingFiles: res.report.value.mappingFiles };
}

/**
 * Time (ms) of the newest sample of `query` at or before `now`, or undefined when there is none: QueryRange over
 * everything with ~100 buckets, then again inside the last non-empty bucket until a bucket is a minute or less.
 * A handful of cheap requests; used when the selected range is empty (e.g. pprof files recorded long ago).
 */
export async function findLatest(lastPoint: (from: number, to: number, step: number) => Promise<number | undefined>, now: number, from = 0): Promise<number | undefined> {
  let lo = from;
  let hi = now;
  let latest: number | undefined;
  for (let round = 0; round < 8; round++) {
    const step = Math.max(1000, Math.ceil((hi - lo) / 100));
    const t = await lastPoint(lo, hi, step);
    if (t === undefined) return latest;
    latest = t;
    if (step <= 60_000) return latest;
    lo = Math.max(lo, t - step);
    hi = Math.min(hi, t + 2 * step);
  }
  return latest;
}

export async function latestSampleTime(api: Api, query: string, now: number): Promise<number | undefined> {
  return findLatest(async (from, to, step) => {
    const series = await queryRange(api, query, from, to, step, []);
    let max: number | undefined;
    for (const s of series) for (const p of s.points) if (max === undefined || p.t > max) max = p.t;
    return max;
  }, now);
}
