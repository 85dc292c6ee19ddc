// The whole view lives in the URL's query string, so a copied link reloads the same view. Names follow Parca's
// URL parameters where the concept is the same (expression_a, merge_from_a, group_by, invert_call_stack, ...).
import { decodeFilters, encodeFilters, type ProfileFilter } from './filters';
import type { SourceRef } from '../source/source';

export interface TimeRange {
  /** Relative window ending now ("15m", "1h", "7d"), or absolute when `from`/`to` are set. */
  relative?: string;
  from?: number;
  to?: number;
}

export interface SideState {
  expression: string;
  range: TimeRange;
  /** Selected profile window (merge), in ms; absent until a point or a brush selects one. */
  mergeFrom?: number;
  mergeTo?: number;
  /** Query of the selected profile when a point of one series was clicked (the expression plus its labels). */
  selection?: string;
  sumBy?: string[];
}

export type Dashboard = 'flamegraph' | 'table' | 'sandwich' | 'flamechart';
/** A frame level, or `labels.<name>` to split the graph by a (pprof sample or series) label first. */
export type GroupBy = 'function_name' | 'mapping_file' | 'function_file_name' | 'location_address' | `labels.${string}`;

export interface ViewState {
  page: 'explorer' | 'targets';
  a: SideState;
  compare: boolean;
  b: SideState;
  /** Compare mode: absolute differences instead of scaling the smaller profile (Parca's compare_absolute). */
  absolute: boolean;
  groupBy: GroupBy[];
  invert: boolean;
  colorBy: 'binary' | 'package' | 'none';
  dashboard: Dashboard[];
  search: string;
  /** Zoomed frame as the names on its path from the root (stable across reloads, unlike node indices). */
  focus: string[];
  sandwich: string;
  sort: string;
  /** Stack and frame filters (Parca's profile_filters), applied by the server to every report. */
  filters: ProfileFilter[];
  /** Server-side node trimming threshold in percent of the total (0 = off, -1 = auto: one pixel, as Parca). */
  trim: number;
  /** The open source view (Parca's source_buildid, source_filename, source_line), or null. */
  source: SourceRef | null;
  /** The label whose values are the flame chart's lanes (e.g. thread; '' = one lane), Parca's flamechart_dimension. */
  flamechartDimension: string;
}

export const defaultState = (): ViewState => ({
  page: 'explorer',
  a: { expression: '', range: { relative: '1h' } },
  compare: false,
  b: { expression: '', range: { relative: '1h' } },
  absolute: false,
  groupBy: ['function_name'],
  invert: false,
  colorBy: 'binary',
  dashboard: ['flamegraph', 'table'],
  search: '',
  focus: [],
  sandwich: '',
  sort: 'cumulative',
  filters: [],
  trim: -1,
  source: null,
  flamechartDimension: '',
});

const listSep = ',';
// Path elements can contain commas (C++ templates, Go closures): the focus path uses a control character.
const pathSep = '\u001f';

function num(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function writeSide(p: URLSearchParams, s: SideState, suffix: string) {
  if (s.expression) p.set(`expression_${suffix}`, s.expression);
  if (s.range.from !== undefined && s.range.to !== undefined) {
    p.set(`from_${suffix}`, String(s.range.from));
    p.set(`to_${suffix}`, String(s.range.to));
  } else if (s.range.relative && s.range.relative !== '1h') p.set(`range_${suffix}`, s.range.relative);
  if (s.mergeFrom !== undefined && s.mergeTo !== undefined) {
    p.set(`merge_from_${suffix}`, String(s.mergeFrom));
    p.set(`merge_to_${suffix}`, String(s.mergeTo));
  }
  if (s.selection) p.set(`selection_${suffix}`, s.selection);
  if (s.sumBy !== undefined) p.set(`sum_by_${suffix}`, s.sumBy.join(listSep));
}

function readSide(p: URLSearchParams, suffix: string): SideState {
  const from = num(p.get(`from_${suffix}`));
  const to = num(p.get(`to_${suffix}`));
  const range: TimeRange = from !== undefined && to !== undefined ? { from, to } : { relative: p.get(`range_${suffix}`) || '1h' };
  const side: SideState = { expression: p.get(`expression_${suffix}`) ?? '', range };
  const mf = num(p.get(`merge_from_${suffix}`));
  const mt = num(p.get(`merge_to_${suffix}`));
  if (mf !== undefined && mt !== undefined) { side.mergeFrom = mf; side.mergeTo = mt; }
  const selection = p.get(`selection_${suffix}`);
  if (selection) side.selection = selection;
  const sumBy = p.get(`sum_by_${suffix}`);
  if (sumBy !== null) side.sumBy = sumBy === '' ? [] : sumBy.split(listSep);
  return side;
}

/** Query string for a state; defaults are left out so links stay short. */
export function encodeState(s: ViewState): string {
  const d = defaultState();
  const p = new URLSearchParams();
  writeSide(p, s.a, 'a');
  if (s.compare) { p.set('compare', 'true'); writeSide(p, s.b, 'b'); }
  if (s.absolute) p.set('compare_absolute', 'true');
  if (s.groupBy.join(listSep) !== d.groupBy.join(listSep)) p.set('group_by', s.groupBy.join(listSep));
  if (s.invert) p.set('invert_call_stack', 'true');
  if (s.colorBy !== d.colorBy) p.set('color_by', s.colorBy);
  if (s.dashboard.join(listSep) !== d.dashboard.join(listSep)) p.set('dashboard_items', s.dashboard.join(listSep));
  if (s.search) p.set('search_string', s.search);
  if (s.focus.length > 0) p.set('focus', s.focus.join(pathSep));
  if (s.sandwich) p.set('sandwich_function_name', s.sandwich);
  if (s.sort !== d.sort) p.set('sort_by', s.sort);
  if (s.trim !== d.trim) p.set('trim', String(s.trim));
  if (s.filters.length > 0) p.set('profile_filters', encodeFilters(s.filters));
  if (s.source) {
    p.set('source_buildid', s.source.buildId);
    p.set('source_filename', s.source.filename);
    if (s.source.line > 0) p.set('source_line', String(s.source.line));
  }
  if (s.flamechartDimension) p.set('flamechart_dimension', s.flamechartDimension);
  return p.toString();
}

export const groupByLevels = ['function_name', 'mapping_file', 'function_file_name', 'location_address'] as const;
const labelGroup = /^labels\.[a-zA-Z_][a-zA-Z0-9_]*$/;
const isGroupBy = (g: string): g is GroupBy => (groupByLevels as readonly string[]).includes(g) || labelGroup.test(g);
const dashboardValues: Dashboard[] = ['flamegraph', 'table', 'sandwich', 'flamechart'];

/**
 * The group-by after the user toggled entries in the menu: frame levels first, then labels (the server groups by
 * labels first regardless), and at least one level, since grouping only by labels would leave frames without a key.
 */
export function nextGroupBy(selected: string[]): GroupBy[] {
  const unique = [...new Set(selected)].filter(isGroupBy);
  const levels = unique.filter((g) => !g.startsWith('labels.'));
  const labels = unique.filter((g) => g.startsWith('labels.'));
  return [...(levels.length > 0 ? levels : ['function_name' as const]), ...labels];
}

/** Parses a query string (with or without "?"); unknown or malformed values fall back to defaults. */
export function decodeState(search: string, page: ViewState['page'] = 'explorer'): ViewState {
  const p = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  const s = defaultState();
  s.page = page;
  s.a = readSide(p, 'a');
  s.compare = p.get('compare') === 'true';
  if (s.compare) s.b = readSide(p, 'b');
  s.absolute = p.get('compare_absolute') === 'true';
  const gb = p.get('group_by');
  if (gb !== null) {
    const valid = gb.split(listSep).filter(isGroupBy);
    if (valid.length > 0) s.groupBy = nextGroupBy(valid);
  }
  s.invert = p.get('invert_call_stack') === 'true';
  const cb = p.get('color_by');
  if (cb === 'binary' || cb === 'package' || cb === 'none') s.colorBy = cb;
  const dash = p.get('dashboard_items');
  if (dash !== null) {
    const parsed = dash.split(listSep).filter((x): x is Dashboard => (dashboardValues as string[]).includes(x));
    if (parsed.length > 0) s.dashboard = parsed;
  }
  s.search = p.get('search_string') ?? '';
  const focus = p.get('focus');
  s.focus = focus ? focus.split(pathSep) : [];
  s.sandwich = p.get('sandwich_function_name') ?? '';
  s.sort = p.get('sort_by') ?? s.sort;
  s.filters = decodeFilters(p.get('profile_filters') ?? '');
  // Links from before the filter panel: hidden binaries were frame filters on the binary.
  for (const b of (p.get('hidden_binaries') ?? '').split(listSep).filter((x) => x)) {
    s.filters.push({ action: 'hide', field: 'binary', op: 'contains', value: b });
  }
  const trim = num(p.get('trim'));
  s.trim = trim !== undefined && trim >= 0 && trim < 100 ? trim : -1;
  const buildId = p.get('source_buildid');
  const filename = p.get('source_filename');
  if (buildId && filename) s.source = { buildId, filename, line: Math.max(0, Math.trunc(num(p.get('source_line')) ?? 0)) };
  const dimension = p.get('flamechart_dimension') ?? '';
  s.flamechartDimension = /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dimension) ? dimension : '';
  return s;
}

/** Resolves a side's range to absolute [from, to] ms at `now`. */
export function absoluteRange(r: TimeRange, now: number, parseRelative: (s: string) => number | undefined): [number, number] {
  if (r.from !== undefined && r.to !== undefined) return [r.from, r.to];
  const span = parseRelative(r.relative ?? '1h') ?? 3600e3;
  return [now - span, now];
}

/**
 * Whether going from one state to the next is a navigation (a new history entry, so Back returns): another point,
 * range, query, zoom, compare side, grouping or filter. Typing a search, sorting or colours only replace the entry.
 */
export function isNavigation(prev: ViewState, next: ViewState): boolean {
  const side = (s: SideState) => [s.expression, s.range.relative ?? null, s.range.from ?? null, s.range.to ?? null,
    s.mergeFrom ?? null, s.mergeTo ?? null, s.selection ?? null, s.sumBy ?? null];
  const key = (s: ViewState) => JSON.stringify([s.page, side(s.a), s.compare, s.compare ? side(s.b) : null, s.absolute,
    s.focus, s.sandwich, s.groupBy, s.invert, s.filters, s.dashboard, s.source, s.flamechartDimension]);
  return key(prev) !== key(next);
}

/** The state with both sides' relative ranges ("15m") made absolute at `now`, for links that show the same window. */
export function withAbsoluteTime(s: ViewState, now: number, parseRelative: (s: string) => number | undefined): ViewState {
  const fix = (side: SideState): SideState => {
    const [from, to] = absoluteRange(side.range, now, parseRelative);
    return { ...side, range: { from, to } };
  };
  return { ...s, a: fix(s.a), b: s.compare ? fix(s.b) : s.b };
}
