import { describe, expect, it } from 'vitest';
import { absoluteRange, decodeState, defaultState, encodeState, nextGroupBy } from '../src/state/url';
import { completionAt, formatSelector, matcherStrings, parseSelector, SelectorError } from '../src/state/selector';
import { parseRelative } from '../src/format/format';

describe('URL state', () => {
  it('round-trips every field', () => {
    const s = defaultState();
    s.a = { expression: 'process_cpu:samples:count:cpu:nanoseconds:delta{job="api, v2"}', range: { from: 1000, to: 5000 }, mergeFrom: 2000, mergeTo: 3000, selection: 'p{job="x"}', sumBy: ['comm', 'job'] };
    s.compare = true;
    s.b = { expression: 'memory:inuse_space:bytes:space:bytes{}', range: { relative: '15m' }, sumBy: [] };
    s.absolute = true;
    s.groupBy = ['mapping_file', 'function_name', 'labels.api', 'labels.thread_name'];
    s.invert = true;
    s.colorBy = 'package';
    s.dashboard = ['sandwich', 'table'];
    s.search = 'gc, alloc';
    s.focus = ['main', 'std::map<int, int>::find', 'x'];
    s.sandwich = 'runtime.mallocgc';
    s.sort = 'flat';
    s.trim = 0.5;
    s.filters = [
      { action: 'drop', field: 'function_name', op: 'contains', value: 'std::map<int, int>::find: 100%' },
      { action: 'hide', field: 'binary', op: 'equal', value: 'libc.so.6' },
      { action: 'keep', field: 'address', op: 'equal', value: '0x4a3f10' },
    ];
    const back = decodeState('?' + encodeState(s));
    expect(back).toEqual(s);
  });
  it('keeps a frame level when only labels are grouped by, and drops unknown group-by fields', () => {
    expect(decodeState('group_by=labels.api').groupBy).toEqual(['function_name', 'labels.api']);
    expect(decodeState('group_by=labels.api,mapping_file,labels.x%2Dy,bogus').groupBy).toEqual(['mapping_file', 'labels.api']);
    expect(nextGroupBy(['labels.api', 'location_address', 'labels.api'])).toEqual(['location_address', 'labels.api']);
    expect(nextGroupBy([])).toEqual(['function_name']);
  });
  it('reads the sum-by labels of both sides as lists', () => {
    const s = decodeState('sum_by_a=comm,job&compare=true&sum_by_b=');
    expect(s.a.sumBy).toEqual(['comm', 'job']);
    expect(s.b.sumBy).toEqual([]);
    expect(new URLSearchParams(encodeState(s)).get('sum_by_a')).toBe('comm,job');
  });
  it('turns links with hidden_binaries (before the filter panel) into frame filters', () => {
    expect(decodeState('hidden_binaries=libc.so.6,ld.so').filters).toEqual([
      { action: 'hide', field: 'binary', op: 'contains', value: 'libc.so.6' },
      { action: 'hide', field: 'binary', op: 'contains', value: 'ld.so' },
    ]);
  });
  it('leaves defaults out of the URL and restores them', () => {
    expect(encodeState(defaultState())).toBe('');
    expect(decodeState('')).toEqual(defaultState());
  });
  it('ignores malformed values', () => {
    const s = decodeState('group_by=bogus&color_by=rainbow&from_a=x&to_a=3&merge_from_a=1&dashboard_items=nope');
    expect(s.groupBy).toEqual(['function_name']);
    expect(s.colorBy).toBe('binary');
    expect(s.a.range).toEqual({ relative: '1h' });
    expect(s.a.mergeFrom).toBeUndefined();
    expect(s.dashboard).toEqual(['flamegraph', 'table']);
  });
  it('resolves relative ranges against now', () => {
    expect(absoluteRange({ relative: '15m' }, 1_000_000_000, parseRelative)).toEqual([1_000_000_000 - 900_000, 1_000_000_000]);
    expect(absoluteRange({ from: 1, to: 2 }, 99, parseRelative)).toEqual([1, 2]);
  });
});

describe('selector', () => {
  it('parses a profile type with matchers', () => {
    const s = parseSelector('process_cpu:samples:count:cpu:nanoseconds:delta{job="parca", instance=~"10\\\\.0.*" , comm!="x\\"y"}');
    expect(s.profileType).toBe('process_cpu:samples:count:cpu:nanoseconds:delta');
    expect(s.matchers).toEqual([
      { name: 'job', op: '=', value: 'parca' },
      { name: 'instance', op: '=~', value: '10\\.0.*' },
      { name: 'comm', op: '!=', value: 'x"y' },
    ]);
    expect(formatSelector(s)).toBe('process_cpu:samples:count:cpu:nanoseconds:delta{job="parca", instance=~"10\\\\.0.*", comm!="x\\"y"}');
    expect(matcherStrings(s)).toEqual(['job="parca"', 'instance=~"10\\\\.0.*"', 'comm!="x\\"y"']);
    expect(parseSelector('memory:inuse_space:bytes:space:bytes').matchers).toEqual([]);
    expect(parseSelector('t{}').matchers).toEqual([]);
  });
  it('reports where a selector is wrong', () => {
    const err = (t: string) => { try { parseSelector(t); return ''; } catch (e) { return (e as SelectorError).message; } };
    expect(err('t{job=parca}')).toBe('expected a double-quoted value for "job" at position 7');
    expect(err('t{job~"x"}')).toBe('expected one of = != =~ !~ after "job" at position 6');
    expect(err('t{job="x"')).toBe('missing closing "}"');
    expect(err('t{job="x}')).toBe('unterminated value for "job"');
    expect(err('t{a=~"("}')).toBe('invalid regular expression for "a": (');
    expect(err('t{a="1"} x')).toBe('unexpected text after "}" at position 10');
  });
  it('knows what the cursor completes', () => {
    expect(completionAt('', 0)).toEqual({ kind: 'name', prefix: '', from: 0 });
    expect(completionAt('jo', 2)).toEqual({ kind: 'name', prefix: 'jo', from: 0 });
    expect(completionAt('job="pa', 7)).toEqual({ kind: 'value', label: 'job', prefix: 'pa', from: 5 });
    expect(completionAt('job="parca", ins', 16)).toEqual({ kind: 'name', prefix: 'ins', from: 13 });
    expect(completionAt('job =~ "', 8)).toEqual({ kind: 'value', label: 'job', prefix: '', from: 8 });
    expect(completionAt('job="parca"', 11)).toEqual({ kind: 'none' });
  });
});

describe('default sum-by', () => {
  it('prefers comm, then namespace, then container', async () => {
    const { defaultSumBy } = await import('../src/views/Explorer');
    expect(defaultSumBy(['job', 'container', 'namespace'])).toEqual(['namespace']);
    expect(defaultSumBy(['comm', 'namespace'])).toEqual(['comm']);
    expect(defaultSumBy(['job', 'instance'])).toEqual([]);
  });
});
