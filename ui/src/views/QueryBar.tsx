// Profile type selector, label-matcher input with autocomplete (Labels / Values), time range picker, sum-by and
// refresh. Problems are shown inline under the bar.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { errorText, labelNames, labelValues, type Api } from '../api/client';
import { friendlyProfileTypeName } from '../format/profileTypes';
import { completionAt, matcherStrings, parseSelector, SelectorError } from '../state/selector';
import type { SideState } from '../state/url';
import { MultiSelect } from './MultiSelect';

const presets = ['5m', '15m', '1h', '3h', '6h', '12h', '1d', '2d', '7d'];

function splitExpression(expr: string): { type: string; matchers: string } {
  const brace = expr.indexOf('{');
  if (brace < 0) return { type: expr.trim(), matchers: '' };
  const close = expr.lastIndexOf('}');
  return { type: expr.slice(0, brace).trim(), matchers: expr.slice(brace + 1, close >= 0 ? close : undefined).trim() };
}

const toLocalInput = (ms: number) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
};

export interface QueryBarProps {
  api: Api;
  side: SideState;
  types: string[];
  range: [number, number];
  sumByOptions: string[];
  onChange: (s: SideState) => void;
  onRefresh: () => void;
  testid: string;
}

export function QueryBar({ api, side, types, range, sumByOptions, onChange, onRefresh, testid }: QueryBarProps) {
  const { type, matchers } = splitExpression(side.expression);
  const [text, setText] = useState(matchers);
  const [error, setError] = useState<string | null>(null);
  const [suggestions, setSuggestions] = useState<string[]>([]);
  const [selected, setSelected] = useState(0);
  const [custom, setCustom] = useState(side.range.from !== undefined);
  const input = useRef<HTMLInputElement>(null);
  const namesCache = useRef(new Map<string, Promise<string[]>>());
  useEffect(() => setText(matchers), [side.expression]);

  const commit = (value: string, profileType = type) => {
    const expr = `${profileType}{${value}}`;
    try {
      parseSelector(expr);
      setError(null);
      onChange({ ...side, expression: expr, mergeFrom: undefined, mergeTo: undefined, selection: undefined });
    } catch (e) {
      setError(e instanceof SelectorError ? `Label matchers: ${e.message.replace(/position (\d+)/, (_, p) => `position ${Number(p) - profileType.length - 1}`)}` : String(e));
    }
  };

  const cached = (key: string, f: () => Promise<string[]>) => {
    let p = namesCache.current.get(key);
    if (!p) { p = f().catch((e) => { namesCache.current.delete(key); setError(errorText(e)); return []; }); namesCache.current.set(key, p); }
    return p;
  };

  const complete = async (value: string, cursor: number) => {
    const c = completionAt(value, cursor);
    if (c.kind === 'none' || !type) { setSuggestions([]); return; }
    let match: string[] = [];
    try { match = matcherStrings(parseSelector(`${type}{${matchers}}`)); } catch { /* incomplete text: no extra matchers */ }
    const all = c.kind === 'name'
      ? await cached(`n|${type}`, () => labelNames(api, type, match, range[0], range[1]))
      : await cached(`v|${type}|${c.label}`, () => labelValues(api, type, c.label, match, range[0], range[1]));
    const p = c.prefix.toLowerCase();
    setSuggestions(all.filter((s) => s.toLowerCase().startsWith(p) && s !== c.prefix).slice(0, 50));
    setSelected(0);
  };

  const accept = (s: string) => {
    const el = input.current!;
    const cursor = el.selectionStart ?? text.length;
    const c = completionAt(text, cursor);
    if (c.kind === 'none') return;
    const insert = c.kind === 'name' ? `${s}="` : `${s}"`;
    const next = text.slice(0, c.from) + insert + text.slice(cursor).replace(/^[^",}]*"?/, '');
    setText(next);
    setSuggestions([]);
    requestAnimationFrame(() => {
      el.focus();
      const pos = c.from + insert.length;
      el.setSelectionRange(pos, pos);
      if (c.kind === 'name') void complete(next, pos); else commit(next);
    });
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (suggestions.length > 0) {
      if (e.key === 'ArrowDown') { setSelected((selected + 1) % suggestions.length); e.preventDefault(); return; }
      if (e.key === 'ArrowUp') { setSelected((selected - 1 + suggestions.length) % suggestions.length); e.preventDefault(); return; }
      if (e.key === 'Tab' || (e.key === 'Enter' && suggestions[selected])) { accept(suggestions[selected]); e.preventDefault(); return; }
      if (e.key === 'Escape') { setSuggestions([]); return; }
    }
    if (e.key === 'Enter') { commit(text); setSuggestions([]); }
  };

  const typeOptions = useMemo(() => types.map((t) => ({ key: t, label: friendlyProfileTypeName(t) }))
    .sort((a, b) => a.label.localeCompare(b.label)), [types]);
  const rangeValue = side.range.from !== undefined || custom ? 'custom' : side.range.relative ?? '1h';

  return (
    <div class="col" data-testid={testid}>
      <div class="row">
        <select data-testid="profile-type" value={type} onChange={(e) => commit(text, (e.target as HTMLSelectElement).value)} title={type}>
          {type === '' && <option value="">Select a profile type…</option>}
          {type !== '' && !types.includes(type) && <option value={type}>{friendlyProfileTypeName(type)}</option>}
          {typeOptions.map((t) => <option key={t.key} value={t.key} title={t.key}>{t.label}</option>)}
        </select>
        <div class="matchers">
          <input ref={input} data-testid="matchers" placeholder='label matchers, e.g. job="api", instance=~"10.0.*"' value={text}
            spellcheck={false} autocomplete="off"
            onInput={(e) => { const el = e.target as HTMLInputElement; setText(el.value); void complete(el.value, el.selectionStart ?? el.value.length); }}
            onFocus={(e) => { const el = e.target as HTMLInputElement; void complete(el.value, el.selectionStart ?? el.value.length); }}
            onBlur={() => setTimeout(() => setSuggestions([]), 150)}
            onKeyDown={onKeyDown} />
          {suggestions.length > 0 && (
            <div class="suggest" data-testid="suggestions">
              {suggestions.map((s, i) => <div key={s} class={i === selected ? 'sel' : ''} onMouseDown={(e) => { e.preventDefault(); accept(s); }}>{s}</div>)}
            </div>
          )}
        </div>
        <select data-testid="range" value={rangeValue} onChange={(e) => {
          const v = (e.target as HTMLSelectElement).value;
          if (v === 'custom') { setCustom(true); onChange({ ...side, range: { from: range[0], to: range[1] } }); }
          else { setCustom(false); onChange({ ...side, range: { relative: v }, mergeFrom: undefined, mergeTo: undefined, selection: undefined }); }
        }}>
          {presets.map((p) => <option key={p} value={p}>Last {p}</option>)}
          <option value="custom">Absolute…</option>
        </select>
        {rangeValue === 'custom' && (
          <>
            <input type="datetime-local" data-testid="range-from" value={toLocalInput(range[0])}
              onChange={(e) => { const v = Date.parse((e.target as HTMLInputElement).value); if (!Number.isNaN(v)) onChange({ ...side, range: { from: v, to: range[1] } }); }} />
            <span>–</span>
            <input type="datetime-local" data-testid="range-to" value={toLocalInput(range[1])}
              onChange={(e) => { const v = Date.parse((e.target as HTMLInputElement).value); if (!Number.isNaN(v)) onChange({ ...side, range: { from: range[0], to: v } }); }} />
          </>
        )}
        <MultiSelect label="sum by" testid="sum-by" placeholder="(all series)" selected={side.sumBy ?? []}
          title="Split the graph into one series per value of these labels (none: one series of everything)"
          onChange={(sumBy) => onChange({ ...side, sumBy })}
          sections={[{ options: [...new Set([...sumByOptions, ...(side.sumBy ?? [])])].map((o) => ({ value: o, label: o })), empty: 'no labels' }]} />
        <button class="primary" data-testid="refresh" title="Refresh (r)" onClick={() => { commit(text); onRefresh(); }}>Refresh</button>
      </div>
      {error && <div class="error" data-testid="query-error">{error}</div>}
    </div>
  );
}
