// The profile filters: active filters as chips (click × to remove), a form to add one (action, field, operator,
// value) and presets for common noise. Filters go to the server with every report (flame graph, table, sandwich,
// download); the server answers with how much the stack filters removed.
import { useState } from 'preact/hooks';
import {
  describeFilter, filterActions, filterError, filterFields, filterOps, filterPresets, isNumberField,
  type FilterAction, type FilterField, type FilterOp, type ProfileFilter,
} from '../state/filters';

export interface FiltersPanelProps {
  filters: ProfileFilter[];
  onChange: (filters: ProfileFilter[]) => void;
  /** Binaries of the profile (PROFILE_METADATA), offered as values for the binary field. */
  binaries: string[];
  /** Function names of the profile, heaviest first, offered as values for the function field. */
  functions: string[];
  open: boolean;
  onOpen: (open: boolean) => void;
}

const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);

export function FiltersPanel({ filters, onChange, binaries, functions, open, onOpen }: FiltersPanelProps) {
  const [draft, setDraft] = useState<ProfileFilter>({ action: 'drop', field: 'function_name', op: 'contains', value: '' });
  const [error, setError] = useState<string | null>(null);
  const same = (x: ProfileFilter, y: ProfileFilter) => x.action === y.action && x.field === y.field && x.op === y.op && x.value === y.value;
  const add = (fs: ProfileFilter[]) => onChange([...filters, ...fs.filter((f) => !filters.some((g) => same(f, g)))]);
  const submit = (e: Event) => {
    e.preventDefault();
    const f = { ...draft, value: draft.value.trim() };
    const err = filterError(f);
    if (err) { setError(err); return; }
    setError(null);
    add([f]);
    setDraft({ ...draft, value: '' });
  };
  const setField = (field: FilterField) => setDraft({ ...draft, field, op: isNumberField(field) ? 'equal' : draft.op });
  if (filters.length === 0 && !open) return null;
  return (
    <div data-testid="filters">
      {filters.length > 0 && (
        <div class="filters" data-testid="filter-chips">
          {filters.map((f, i) => (
            <span class="chip" key={i} data-testid="filter-chip" title={describeFilter(f)}>
              {chipText(f)}
              <button type="button" aria-label={`Remove filter: ${describeFilter(f)}`} onClick={() => onChange(filters.filter((_, j) => j !== i))}>×</button>
            </span>
          ))}
          {filters.length > 1 && <button type="button" class="chip" data-testid="clear-filters" onClick={() => onChange([])}>Clear all</button>}
        </div>
      )}
      {open && (
        <form class="filter-form" data-testid="filter-form" onSubmit={submit}>
          <select data-testid="filter-action" value={draft.action} onChange={(e) => setDraft({ ...draft, action: (e.target as HTMLSelectElement).value as FilterAction })}>
            {filterActions.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
          <select data-testid="filter-field" value={draft.field} onChange={(e) => setField((e.target as HTMLSelectElement).value as FilterField)}>
            {filterFields.map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
          <select data-testid="filter-op" value={draft.op} onChange={(e) => setDraft({ ...draft, op: (e.target as HTMLSelectElement).value as FilterOp })}>
            {filterOps.filter(([v]) => !isNumberField(draft.field) || v === 'equal').map(([v, l]) => <option key={v} value={v}>{l}</option>)}
          </select>
          <input type="text" data-testid="filter-value" list={draft.field === 'binary' ? 'filter-binaries' : draft.field === 'function_name' ? 'filter-functions' : undefined} spellcheck={false}
            placeholder={isNumberField(draft.field) ? (draft.field === 'address' ? '0x4a3f10' : '42') : draft.field === 'binary' ? 'libc.so.6' : 'runtime.mallocgc'}
            value={draft.value} onInput={(e) => { setDraft({ ...draft, value: (e.target as HTMLInputElement).value }); setError(null); }} />
          <datalist id="filter-functions">{draft.field === 'function_name' && functions.map((f) => <option key={f} value={f} />)}</datalist>
          <datalist id="filter-binaries">{[...new Set(binaries.map(baseName))].map((b) => <option key={b} value={b} />)}</datalist>
          <button type="submit" class="primary" data-testid="filter-add">Add filter</button>
          <select data-testid="filter-preset" value="" onChange={(e) => {
            const p = filterPresets.find((x) => x.name === (e.target as HTMLSelectElement).value);
            if (p) add(p.filters);
            (e.target as HTMLSelectElement).value = '';
          }}>
            <option value="">Presets…</option>
            {filterPresets.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </select>
          <button type="button" onClick={() => onOpen(false)}>Done</button>
          {error && <span class="error" data-testid="filter-error">{error}</span>}
          <span class="hint">Drop/keep act on whole stacks; hide/show act on frames. Matching ignores case; binary is the file name.</span>
        </form>
      )}
    </div>
  );
}

function chipText(f: ProfileFilter) {
  const verb = { drop: 'drop stacks', keep: 'keep stacks', hide: 'hide frames', show: 'only frames' }[f.action];
  const field = filterFields.find(([x]) => x === f.field)![1];
  const op = filterOps.find(([o]) => o === f.op)![1];
  return <span>{verb}: {field} {op} <code>{f.value}</code></span>;
}
