// Human-readable numbers for profile values: the unit decides the scale (time, bytes, counts).

const timeUnits: [number, string][] = [
  [1, 'ns'], [1e3, 'µs'], [1e6, 'ms'], [1e9, 's'], [60e9, 'min'], [3600e9, 'h'], [86400e9, 'd'],
];
const byteUnits: [number, string][] = [
  [1, 'B'], [1024, 'KiB'], [1024 ** 2, 'MiB'], [1024 ** 3, 'GiB'], [1024 ** 4, 'TiB'], [1024 ** 5, 'PiB'],
];
const countUnits: [number, string][] = [[1, ''], [1e3, 'k'], [1e6, 'M'], [1e9, 'G'], [1e12, 'T']];

function scaled(value: number, units: [number, string][], digits: number): string {
  const abs = Math.abs(value);
  let k = 0;
  for (let i = 0; i < units.length; i++) if (abs >= units[i][0]) k = i;
  // A value just under the next unit rounds up to it: 999,999,999 ns is "1 s", not "1000 ms".
  if (k + 1 < units.length && Math.abs(Number((value / units[k][0]).toFixed(digits))) * units[k][0] >= units[k + 1][0]) k++;
  const chosen = units[k];
  const v = value / chosen[0];
  const text = k === 0 && Number.isInteger(v) ? String(v) : trimZeros(v.toFixed(digits));
  return chosen[1] === '' ? text : `${text} ${chosen[1]}`;
}

function trimZeros(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Formats a value in the given sample unit: nanoseconds, bytes, count (anything else: plain number + unit). */
export function formatValue(value: number | bigint, unit: string, digits = 2): string {
  const v = typeof value === 'bigint' ? Number(value) : value;
  switch (unit) {
    case 'nanoseconds': return scaled(v, timeUnits, digits);
    case 'microseconds': return scaled(v * 1e3, timeUnits, digits);
    case 'milliseconds': return scaled(v * 1e6, timeUnits, digits);
    case 'seconds': return scaled(v * 1e9, timeUnits, digits);
    case 'bytes': return scaled(v, byteUnits, digits);
    case 'count': case '': case 'samples': return scaled(v, countUnits, digits);
    default: return `${scaled(v, countUnits, digits)} ${unit}`;
  }
}

/** A share as a percentage with precision that stays meaningful for small shares (0.0012 % not 0.00 %). */
export function formatPercent(part: number, total: number): string {
  if (total === 0) return '0%';
  const p = (part / total) * 100;
  const a = Math.abs(p);
  if (a === 0) return '0%';
  if (a >= 10) return `${p.toFixed(1)}%`;
  if (a >= 0.01) return `${p.toFixed(2)}%`;
  return `${p.toPrecision(2)}%`;
}

/** Signed difference in percent, as used in compare mode ("+12.5%", "-3.00%", "new"). */
export function formatDiffPercent(diff: number, cumulative: number): string {
  const before = cumulative - diff;
  if (before === 0) return diff === 0 ? '0%' : 'new';
  const p = (diff / before) * 100;
  const text = formatPercent(Math.abs(p), 100);
  return p > 0 ? `+${text}` : p < 0 ? `-${text}` : '0%';
}

/** Relative time spec (e.g. "15m", "1h", "7d") in milliseconds; undefined if it does not parse. */
export function parseRelative(spec: string): number | undefined {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(spec.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const mult = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return n * mult;
}

/** Local date-time text for a millisecond timestamp, "2026-11-21 12:34:56". */
export function formatTimestamp(ms: number, utc = false): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return utc
    ? `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`
    : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** "just now", "12s ago", "3m ago", "2h ago", "4d ago", "3y ago": how old a timestamp is at `now` (both ms). */
export function formatAge(ms: number, now: number): string {
  const s = Math.floor((now - ms) / 1000);
  if (s < 1) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 365 * 86400) return `${Math.floor(s / 86400)}d ago`;
  return `${Math.floor(s / (365 * 86400))}y ago`;
}

/**
 * The parts of a function name: the qualifier (namespace, class, package) and the function itself, so that a
 * narrow column can cut the qualifier and keep the function visible. "ns::Cls::run(int)" → ["ns::Cls::", "run(int)"];
 * "github.com/x/y.(*T).Run" → ["github.com/x/y.(*T).", "Run"]. Separators inside argument lists or template
 * arguments do not count.
 */
export function splitName(name: string): [string, string] {
  let depth = 0;
  let cut = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === '(' || c === '<' || c === '[') {
      // A parenthesized receiver right after a separator ("pkg.(*T).M") belongs to the qualifier.
      if (c === '(' && depth === 0 && i > 0 && name[i - 1] !== '.') break;
      depth++;
    } else if (c === ')' || c === '>' || c === ']') depth = Math.max(0, depth - 1);
    else if (depth === 0 && (c === '.' || c === '/' || (c === ':' && name[i + 1] === ':'))) cut = c === ':' ? i + 2 : i + 1;
  }
  return [name.slice(0, cut), name.slice(cut)];
}

/**
 * A function name cut to `max` characters keeping what identifies the function: a trailing argument list is
 * elided first ("run(int, std::string const&)" → "run(…)"), then the qualifier from the left ("…Cls::run(…)").
 */
export function shortenName(name: string, max: number, ellipsis = '…'): string {
  if (name.length <= max) return name;
  let s = name;
  const close = s.lastIndexOf(')');
  if (close === s.length - 1 || /\)\s*(const|&|&&|volatile)?\s*$/.test(s)) {
    let depth = 0;
    for (let i = close; i >= 0; i--) {
      if (s[i] === ')') depth++;
      else if (s[i] === '(' && --depth === 0) {
        if (i > 0 && close - i > 1) s = s.slice(0, i + 1) + ellipsis + s.slice(close);
        break;
      }
    }
    if (s.length <= max) return s;
  }
  if (max <= ellipsis.length) return s.slice(s.length - max);
  return ellipsis + s.slice(s.length - (max - ellipsis.length));
}
