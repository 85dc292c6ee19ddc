import { describe, expect, it } from 'vitest';
import { formatAge, formatDiffPercent, formatPercent, formatTimestamp, formatValue, parseRelative, shortenName, splitName } from '../src/format/format';
import { searchError } from '../src/arrow/flamegraph';
import { friendlyProfileTypeName, parseProfileTypeKey, profileTypeKey, resultUnit } from '../src/format/profileTypes';

describe('formatValue', () => {
  it('scales time units', () => {
    expect(formatValue(0, 'nanoseconds')).toBe('0 ns');
    expect(formatValue(999, 'nanoseconds')).toBe('999 ns');
    expect(formatValue(1500, 'nanoseconds')).toBe('1.5 µs');
    expect(formatValue(2_340_000_000, 'nanoseconds')).toBe('2.34 s');
    expect(formatValue(90e9, 'nanoseconds')).toBe('1.5 min');
    expect(formatValue(12n * 1_000_000n, 'nanoseconds')).toBe('12 ms');
  });
  it('scales bytes in binary units and counts in decimal units', () => {
    expect(formatValue(512, 'bytes')).toBe('512 B');
    expect(formatValue(1536, 'bytes')).toBe('1.5 KiB');
    expect(formatValue(3 * 1024 ** 3, 'bytes')).toBe('3 GiB');
    expect(formatValue(42, 'count')).toBe('42');
    expect(formatValue(12_345, 'count')).toBe('12.35 k');
    expect(formatValue(-2_500_000, 'count')).toBe('-2.5 M');
    expect(formatValue(7, 'widgets')).toBe('7 widgets');
  });
});

describe('unit boundaries and names', () => {
  it('rounds up into the next unit instead of printing 1000 of the smaller one', () => {
    expect(formatValue(999_999_999, 'nanoseconds')).toBe('1 s');
    expect(formatValue(999_996, 'nanoseconds')).toBe('1 ms');
    expect(formatValue(999_994, 'nanoseconds')).toBe('999.99 µs');
    expect(formatValue(-999_999_999, 'nanoseconds')).toBe('-1 s');
    expect(formatValue(1024 * 1024 - 1, 'bytes')).toBe('1 MiB');
    expect(formatValue(999_999, 'count')).toBe('1 M');
  });
  it('keeps the function part of long names', () => {
    const cpp = 'ns3::Component17::method_42(int, std::string const&)';
    expect(shortenName(cpp, 80)).toBe(cpp);
    expect(shortenName(cpp, 34)).toBe('ns3::Component17::method_42(…)');
    expect(shortenName(cpp, 20)).toBe('…ent17::method_42(…)');
    expect(shortenName('github.com/acme/service/internal/handler.(*Server).ServeHTTP', 24)).toBe('…ler.(*Server).ServeHTTP');
    expect(splitName(cpp)).toEqual(['ns3::Component17::', 'method_42(int, std::string const&)']);
    expect(splitName('github.com/x/y.(*T).Run')).toEqual(['github.com/x/y.(*T).', 'Run']);
    expect(splitName('std::vector<a::b>::push_back')).toEqual(['std::vector<a::b>::', 'push_back']);
    expect(splitName('main')).toEqual(['', 'main']);
  });
  it('reports an invalid search regex and accepts valid ones and plain text', () => {
    expect(searchError('/foo(/')).toMatch(/Invalid regular expression/);
    expect(searchError('/^foo$/')).toBeNull();
    expect(searchError('foo(')).toBeNull();
  });
});

describe('percentages', () => {
  it('keeps small shares readable', () => {
    expect(formatPercent(1, 4)).toBe('25.0%');
    expect(formatPercent(1, 300)).toBe('0.33%');
    expect(formatPercent(1, 100_000)).toBe('0.0010%');
    expect(formatPercent(5, 0)).toBe('0%');
  });
  it('formats signed diffs against the A value', () => {
    expect(formatDiffPercent(50, 150)).toBe('+50.0%');
    expect(formatDiffPercent(-25, 75)).toBe('-25.0%');
    expect(formatDiffPercent(10, 10)).toBe('new');
    expect(formatDiffPercent(0, 10)).toBe('0%');
  });
});

describe('time', () => {
  it('parses relative ranges', () => {
    expect(parseRelative('15m')).toBe(900_000);
    expect(parseRelative('1h')).toBe(3_600_000);
    expect(parseRelative('7d')).toBe(604_800_000);
    expect(parseRelative('1y')).toBeUndefined();
    expect(parseRelative('h')).toBeUndefined();
  });
  it('formats timestamps', () => {
    expect(formatTimestamp(Date.UTC(2026, 10, 21, 9, 5, 7), true)).toBe('2026-11-21 09:05:07');
  });
});

describe('profile types', () => {
  it('parses and prints type keys', () => {
    const t = parseProfileTypeKey('process_cpu:samples:count:cpu:nanoseconds:delta')!;
    expect(t).toEqual({ name: 'process_cpu', sampleType: 'samples', sampleUnit: 'count', periodType: 'cpu', periodUnit: 'nanoseconds', delta: true });
    expect(profileTypeKey(t)).toBe('process_cpu:samples:count:cpu:nanoseconds:delta');
    expect(parseProfileTypeKey('a:b:c:d')).toBeUndefined();
    expect(parseProfileTypeKey('a:b:c:d:e:cumulative')).toBeUndefined();
  });
  it('gives friendly names and the merged result unit', () => {
    expect(friendlyProfileTypeName('memory:inuse_space:bytes:space:bytes')).toBe('Memory in-use bytes');
    expect(friendlyProfileTypeName('dotnet_gc:alloc_bytes:bytes:space:bytes:delta')).toBe('Dotnet gc alloc bytes (bytes, delta)');
    expect(resultUnit(parseProfileTypeKey('process_cpu:samples:count:cpu:nanoseconds:delta')!)).toBe('nanoseconds');
    expect(resultUnit(parseProfileTypeKey('memory:alloc_objects:count:space:bytes')!)).toBe('count');
  });
});

describe('timestamps from the API', () => {
  it('truncates to the millisecond so a clicked point still covers its profile', async () => {
    const { msOf } = await import('../src/api/client');
    expect(msOf({ seconds: 1644509299n, nanos: 337_903_000 } as never)).toBe(1644509299337);
    expect(msOf({ seconds: 0n, nanos: 999_999 } as never)).toBe(0);
  });
});

describe('formatAge', () => {
  it('says how long ago, in the largest whole unit', () => {
    const now = 1_700_000_000_000;
    expect(formatAge(now - 400, now)).toBe('just now');
    expect(formatAge(now - 12_900, now)).toBe('12s ago');
    expect(formatAge(now - 3 * 60_000 - 59_000, now)).toBe('3m ago');
    expect(formatAge(now - 2 * 3_600_000, now)).toBe('2h ago');
    expect(formatAge(now - 4 * 86_400_000 - 1, now)).toBe('4d ago');
    expect(formatAge(now - 1744 * 86_400_000, now)).toBe('4y ago');
  });
});

describe('findLatest', () => {
  it('narrows to the newest sample in a few bucketed queries', async () => {
    const samples = [1_000_000, 50_000_000, 1_644_509_299_337];
    const now = 1_763_700_000_000;
    const calls: number[] = [];
    const { findLatest } = await import('../src/api/client');
    const bucketed = async (from: number, to: number, step: number) => {
      calls.push(step);
      // Like QueryRange: one point per non-empty bucket, at the bucket's start.
      const inside = samples.filter((t) => t >= from && t <= to);
      return inside.length === 0 ? undefined : from + Math.floor((Math.max(...inside) - from) / step) * step;
    };
    const t = (await findLatest(bucketed, now))!;
    expect(t).toBeLessThanOrEqual(samples[2]);
    expect(samples[2] - t).toBeLessThanOrEqual(60_000);
    expect(calls.length).toBeLessThanOrEqual(6);
    expect(await findLatest(async () => undefined, now)).toBeUndefined();
  });
});
