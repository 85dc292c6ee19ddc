// Profile filters as the user states them ("drop stacks where function contains runtime.gc") and as Parca's API
// wants them (StackFilter / FrameFilter with a FilterCriteria). The user-facing form always uses a positive
// operator; dropping stacks or hiding frames is the server's negated condition:
//   keep stacks where C  → StackFilter(C)           (any frame matches)
//   drop stacks where C  → StackFilter(not C)       (negative conditions must hold for every frame)
//   show only frames C   → FrameFilter(C)           (frames that do not match are hidden)
//   hide frames where C  → FrameFilter(not C)
// One condition per filter; all filters apply together (AND), as in Parca's filter panel.

export type FilterAction = 'keep' | 'drop' | 'show' | 'hide';
export type FilterField = 'function_name' | 'system_name' | 'binary' | 'filename' | 'address' | 'line_number';
export type FilterOp = 'equal' | 'contains' | 'starts_with';

export interface ProfileFilter {
  action: FilterAction;
  field: FilterField;
  op: FilterOp;
  /** Text for string fields; a decimal or 0x-hex number for address and line_number. */
  value: string;
}

export const filterActions: [FilterAction, string][] = [
  ['drop', 'Drop stacks where'], ['keep', 'Keep only stacks where'], ['hide', 'Hide frames where'], ['show', 'Show only frames where'],
];
export const filterFields: [FilterField, string][] = [
  ['function_name', 'function'], ['binary', 'binary'], ['filename', 'file'], ['system_name', 'system name'],
  ['address', 'address'], ['line_number', 'line'],
];
export const filterOps: [FilterOp, string][] = [['contains', 'contains'], ['equal', 'is'], ['starts_with', 'starts with']];

export const isNumberField = (f: FilterField) => f === 'address' || f === 'line_number';

/** Filters offered with one click: the noise most profiles carry. */
export const filterPresets: { name: string; filters: ProfileFilter[] }[] = [
  { name: 'Hide Go runtime frames', filters: [{ action: 'hide', field: 'function_name', op: 'starts_with', value: 'runtime.' }] },
  { name: 'Drop Go GC stacks', filters: [{ action: 'drop', field: 'function_name', op: 'starts_with', value: 'runtime.gcBgMarkWorker' }] },
  { name: 'Hide libc frames', filters: [{ action: 'hide', field: 'binary', op: 'starts_with', value: 'libc.so' }] },
  // .NET (the server's own profiles, EventPipe): framework frames around the application's code.
  { name: 'Hide .NET framework frames', filters: [
    { action: 'hide', field: 'function_name', op: 'starts_with', value: 'System.' },
    { action: 'hide', field: 'function_name', op: 'starts_with', value: 'Microsoft.' },
  ] },
];

/** Parses "123" or "0x7b"; undefined when it is not a non-negative integer. */
export function parseNumber(v: string): bigint | undefined {
  const t = v.trim();
  if (/^0x[0-9a-f]+$/i.test(t) || /^\d+$/.test(t)) return BigInt(t);
  return undefined;
}

/** Why a filter cannot be sent, or null when it is valid. */
export function filterError(f: ProfileFilter): string | null {
  if (f.value.trim() === '') return 'enter a value';
  if (isNumberField(f.field)) {
    if (f.op !== 'equal') return `${f.field === 'address' ? 'an address' : 'a line number'} can only be compared with "is"`;
    if (parseNumber(f.value) === undefined) return `"${f.value}" is not a number (decimal or 0x hex)`;
  }
  return null;
}

export function describeFilter(f: ProfileFilter): string {
  const action = filterActions.find(([a]) => a === f.action)![1];
  const field = filterFields.find(([x]) => x === f.field)![1];
  const op = filterOps.find(([o]) => o === f.op)![1];
  return `${action} ${field} ${op} "${f.value}"`;
}

// URL form: one filter per entry, `action:field:op:value` with the value percent-encoded (so ':' and ',' are safe),
// entries joined by ','. Short and readable in a shared link.
export function encodeFilters(fs: ProfileFilter[]): string {
  return fs.map((f) => `${f.action}:${f.field}:${f.op}:${encodeURIComponent(f.value)}`).join(',');
}

const actions = new Set<string>(filterActions.map(([a]) => a));
const fields = new Set<string>(filterFields.map(([f]) => f));
const ops = new Set<string>(filterOps.map(([o]) => o));

/** Parses the URL form; malformed entries are dropped (a hand-edited link must not break the page). */
export function decodeFilters(s: string): ProfileFilter[] {
  if (!s) return [];
  const out: ProfileFilter[] = [];
  for (const entry of s.split(',')) {
    const parts = entry.split(':');
    if (parts.length !== 4) continue;
    const [action, field, op, raw] = parts;
    if (!actions.has(action) || !fields.has(field) || !ops.has(op)) continue;
    let value: string;
    try { value = decodeURIComponent(raw); } catch { continue; }
    const f: ProfileFilter = { action: action as FilterAction, field: field as FilterField, op: op as FilterOp, value };
    if (filterError(f) === null) out.push(f);
  }
  return out;
}

export type StringConditionCase = 'equal' | 'notEqual' | 'contains' | 'notContains' | 'startsWith' | 'notStartsWith';

export interface WireFilter {
  kind: 'stackFilter' | 'frameFilter';
  field: 'functionName' | 'systemName' | 'binary' | 'filename' | 'address' | 'lineNumber';
  /** String fields: the StringCondition case; number fields: 'equal' or 'notEqual'. */
  condition: StringConditionCase;
  value: string | bigint;
}

const wireField: Record<FilterField, WireFilter['field']> = {
  function_name: 'functionName', system_name: 'systemName', binary: 'binary', filename: 'filename', address: 'address', line_number: 'lineNumber',
};
const positive: Record<FilterOp, StringConditionCase> = { equal: 'equal', contains: 'contains', starts_with: 'startsWith' };
const negative: Record<FilterOp, StringConditionCase> = { equal: 'notEqual', contains: 'notContains', starts_with: 'notStartsWith' };

/** The Parca Filter a user filter stands for (see the table at the top of this file). */
export function toWire(f: ProfileFilter): WireFilter {
  const negate = f.action === 'drop' || f.action === 'hide';
  return {
    kind: f.action === 'keep' || f.action === 'drop' ? 'stackFilter' : 'frameFilter',
    field: wireField[f.field],
    condition: (negate ? negative : positive)[f.op],
    value: isNumberField(f.field) ? parseNumber(f.value)! : f.value,
  };
}
