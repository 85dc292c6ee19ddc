import { describe, expect, it } from 'vitest';
import { decodeState, defaultState, encodeState, isNavigation, withAbsoluteTime } from '../src/state/url';
import { parseRelative } from '../src/format/format';
import { defaultProfileType, diffProblem, friendlyProfileTypeName } from '../src/format/profileTypes';
import { effectiveTrim } from '../src/views/ProfileView';

describe('history entries', () => {
  const base = () => { const s = defaultState(); s.a = { expression: 'cpu:samples:count:cpu:nanoseconds:delta{}', range: { relative: '1h' } }; return s; };
  it('pushes points, ranges, queries, zooms and compare; replaces search, sort and colours', () => {
    const s = base();
    expect(isNavigation(s, { ...s, a: { ...s.a, mergeFrom: 1, mergeTo: 2 } })).toBe(true);
    expect(isNavigation(s, { ...s, a: { ...s.a, range: { from: 1, to: 2 } } })).toBe(true);
    expect(isNavigation(s, { ...s, a: { ...s.a, expression: 'memory:inuse_space:bytes:space:bytes{}' } })).toBe(true);
    expect(isNavigation(s, { ...s, focus: ['main', 'work'] })).toBe(true);
    expect(isNavigation(s, { ...s, compare: true, b: s.a })).toBe(true);
    expect(isNavigation(s, { ...s, search: 'wor' })).toBe(false);
    expect(isNavigation(s, { ...s, sort: '-flat' })).toBe(false);
    expect(isNavigation(s, { ...s, colorBy: 'none' })).toBe(false);
  });

  it('share links carry absolute time that decodes to the same window', () => {
    const s = base();
    s.a.mergeFrom = 1_700_000_000_000; s.a.mergeTo = 1_700_000_010_000;
    s.a.range = { relative: '15m' };
    const now = 1_700_000_100_000;
    const shared = decodeState(encodeState(withAbsoluteTime(s, now, parseRelative)));
    expect(shared.a.range).toEqual({ from: now - 15 * 60_000, to: now });
    expect(shared.a.mergeFrom).toBe(s.a.mergeFrom);
    expect(shared.a.expression).toBe(s.a.expression);
  });

  it('trim defaults to one pixel (auto), survives a link, and off is kept as off', () => {
    expect(defaultState().trim).toBe(-1);
    expect(effectiveTrim(-1, 1600)).toBe(0.06);
    expect(effectiveTrim(0, 1600)).toBeUndefined();
    expect(effectiveTrim(0.1, 1600)).toBe(0.1);
    const off = { ...defaultState(), trim: 0 };
    expect(decodeState(encodeState(off)).trim).toBe(0);
    expect(decodeState(encodeState(defaultState())).trim).toBe(-1);
  });
});

describe('profile types', () => {
  it('names our agent, Parca Agent and Go runtime types and picks on-CPU first', () => {
    expect(friendlyProfileTypeName('parca_agent_cpu:samples:count:cpu:nanoseconds:delta')).toBe('On-CPU');
    expect(friendlyProfileTypeName('parca_agent:samples:count:cpu:nanoseconds:delta')).toBe('On-CPU');
    expect(friendlyProfileTypeName('goroutine:goroutine:count:goroutine:count')).toBe('Goroutines');
    expect(defaultProfileType(['memory:inuse_space:bytes:space:bytes', 'process_cpu:samples:count:cpu:nanoseconds:delta',
      'parca_agent_cpu:samples:count:cpu:nanoseconds:delta'])).toBe('parca_agent_cpu:samples:count:cpu:nanoseconds:delta');
    expect(defaultProfileType(['memory:inuse_space:bytes:space:bytes', 'process_cpu:samples:count:cpu:nanoseconds:delta'])).toBe('process_cpu:samples:count:cpu:nanoseconds:delta');
  });

  it('refuses to diff CPU against heap bytes and allows CPU samples against CPU time', () => {
    expect(diffProblem('process_cpu:samples:count:cpu:nanoseconds:delta', 'memory:inuse_space:bytes:space:bytes')).toContain('cpu (nanoseconds)');
    expect(diffProblem('process_cpu:samples:count:cpu:nanoseconds:delta', 'process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta')).toBeNull();
    expect(diffProblem('memory:alloc_space:bytes:space:bytes', 'memory:inuse_space:bytes:space:bytes')).toContain('alloc_space (bytes)');
  });
});
