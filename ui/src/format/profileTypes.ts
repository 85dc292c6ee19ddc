// Profile type strings (`name:sample_type:sample_unit:period_type:period_unit[:delta]`) and the friendly names
// the type selector shows for the well-known ones.

export interface ProfileTypeInfo {
  name: string;
  sampleType: string;
  sampleUnit: string;
  periodType: string;
  periodUnit: string;
  delta: boolean;
}

export function profileTypeKey(t: ProfileTypeInfo): string {
  return `${t.name}:${t.sampleType}:${t.sampleUnit}:${t.periodType}:${t.periodUnit}${t.delta ? ':delta' : ''}`;
}

export function parseProfileTypeKey(key: string): ProfileTypeInfo | undefined {
  const parts = key.split(':');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  if (parts.length === 6 && parts[5] !== 'delta') return undefined;
  if (parts.slice(0, 5).some((p) => p === '')) return undefined;
  return {
    name: parts[0], sampleType: parts[1], sampleUnit: parts[2], periodType: parts[3], periodUnit: parts[4],
    delta: parts.length === 6,
  };
}

const known: Record<string, string> = {
  // Our agent (parca-agent in this repository) and Parca Agent (older releases used parca_agent_cpu too).
  'parca_agent_cpu:samples:count:cpu:nanoseconds:delta': 'On-CPU',
  'parca_agent:samples:count:cpu:nanoseconds:delta': 'On-CPU',
  'parca_agent:wallclock:nanoseconds:samples:count:delta': 'Off-CPU',
  'process_cpu:samples:count:cpu:nanoseconds:delta': 'Process CPU samples',
  'process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta': 'Process CPU time',
  'memory:alloc_objects:count:space:bytes': 'Memory allocated objects (total)',
  'memory:alloc_space:bytes:space:bytes': 'Memory allocated bytes (total)',
  'memory:alloc_objects:count:space:bytes:delta': 'Memory allocated objects',
  'memory:alloc_space:bytes:space:bytes:delta': 'Memory allocated bytes',
  'memory:inuse_objects:count:space:bytes': 'Memory in-use objects',
  'memory:inuse_space:bytes:space:bytes': 'Memory in-use bytes',
  'goroutine:goroutine:count:goroutine:count': 'Goroutines',
  'threadcreate:threadcreate:count:threadcreate:count': 'OS threads created',
  'process_cpu:cpu:nanoseconds:cpu:nanoseconds': 'Process CPU time',
  'process_cpu:samples:count:cpu:nanoseconds': 'Process CPU samples',
  'block:contentions:count:contentions:count': 'Block contentions',
  'block:delay:nanoseconds:contentions:count': 'Block delay',
  'mutex:contentions:count:contentions:count': 'Mutex contentions',
  'mutex:delay:nanoseconds:contentions:count': 'Mutex delay',
  'fgprof:samples:count:wallclock:nanoseconds:delta': 'Wall-clock samples (fgprof)',
  'fgprof:time:nanoseconds:wallclock:nanoseconds:delta': 'Wall-clock time (fgprof)',
};

/**
 * The type a new visitor sees first: on-CPU from our agent or Parca Agent, else a process's own CPU profile, else
 * any CPU type, else the first.
 */
export function defaultProfileType(types: string[]): string | undefined {
  const order = [
    (t: string) => t.startsWith('parca_agent_cpu:samples:count:cpu:'),
    (t: string) => t.startsWith('parca_agent:samples:count:cpu:'),
    (t: string) => t.startsWith('process_cpu:samples:count:cpu:'),
    (t: string) => t.startsWith('process_cpu:'),
    (t: string) => t.includes(':cpu:'),
  ];
  for (const match of order) { const t = types.find(match); if (t) return t; }
  return types[0];
}

/** What the values of a type measure after a merge (samples/count are reported in the period's type and unit). */
export function measureOf(t: ProfileTypeInfo): string {
  return t.sampleType === 'samples' && t.sampleUnit === 'count' ? `${t.periodType} (${t.periodUnit})` : `${t.sampleType} (${t.sampleUnit})`;
}

/** Why two profile types cannot be compared, or null when they can (same measure, same unit). */
export function diffProblem(a: string, b: string): string | null {
  const ta = parseProfileTypeKey(a);
  const tb = parseProfileTypeKey(b);
  if (!ta || !tb) return null;
  const [ma, mb] = [measureOf(ta), measureOf(tb)];
  return ma === mb ? null
    : `A is ${friendlyProfileTypeName(a)} — ${ma}; B is ${friendlyProfileTypeName(b)} — ${mb}. A diff subtracts values of the same kind: pick the same type on both sides.`;
}

/** "Process CPU samples" for a known type; otherwise a readable fallback built from its parts. */
export function friendlyProfileTypeName(key: string): string {
  const k = known[key];
  if (k) return k;
  const t = parseProfileTypeKey(key);
  if (!t) return key;
  const words = `${t.name} ${t.sampleType}`.replace(/[_-]+/g, ' ');
  return `${words.charAt(0).toUpperCase()}${words.slice(1)} (${t.sampleUnit}${t.delta ? ', delta' : ''})`;
}

/** The unit values are reported in after a merge: CPU "samples/count" with a cpu period become nanoseconds. */
export function resultUnit(t: ProfileTypeInfo): string {
  if (t.delta && t.sampleType === 'samples' && t.sampleUnit === 'count') return t.periodUnit;
  return t.sampleUnit;
}
