import { describe, expect, it } from 'vitest';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { buildRequest, filterMessage } from '../src/api/client';
import { QueryRequest_ReportType, QueryRequestSchema } from '../src/gen/parca/query/v1alpha1/query_pb';
import { decodeFilters, describeFilter, encodeFilters, filterError, filterPresets, toWire, type ProfileFilter } from '../src/state/filters';

const sample: ProfileFilter[] = [
  { action: 'drop', field: 'function_name', op: 'contains', value: 'runtime.gc' },
  { action: 'keep', field: 'binary', op: 'starts_with', value: 'libc.so' },
  { action: 'hide', field: 'filename', op: 'equal', value: 'a:b,c%d ü/x.go' },
  { action: 'show', field: 'system_name', op: 'contains', value: 'std::map<int, int>' },
  { action: 'drop', field: 'address', op: 'equal', value: '0x4a3f10' },
  { action: 'keep', field: 'line_number', op: 'equal', value: '42' },
];

describe('filter serialisation', () => {
  it('round-trips through the URL form, including separators in values', () => {
    const text = encodeFilters(sample);
    expect(text.split(',')).toHaveLength(sample.length);
    expect(text.startsWith('drop:function_name:contains:runtime.gc,keep:binary:starts_with:libc.so,')).toBe(true);
    expect(decodeFilters(text)).toEqual(sample);
    // The query string encoding on top of it survives too.
    const p = new URLSearchParams({ profile_filters: text });
    expect(decodeFilters(new URLSearchParams(p.toString()).get('profile_filters')!)).toEqual(sample);
  });
  it('drops malformed entries and keeps the good ones', () => {
    const good = 'hide:binary:equal:libc.so.6';
    expect(decodeFilters(['nuke:binary:equal:x', 'drop:colour:equal:x', 'drop:binary:matches:x', 'drop:binary:equal', good,
      'drop:binary:equal:%E0%A4%A', 'drop:address:equal:xyz', 'drop:line_number:contains:4', 'drop:function_name:equal:'].join(','))).toEqual([
      { action: 'hide', field: 'binary', op: 'equal', value: 'libc.so.6' },
    ]);
    expect(decodeFilters('')).toEqual([]);
  });
  it('has only valid presets, and they survive the URL', () => {
    for (const p of filterPresets) {
      expect(p.filters.map(filterError)).toEqual(p.filters.map(() => null));
      expect(decodeFilters(encodeFilters(p.filters))).toEqual(p.filters);
    }
  });
  it('explains invalid filters', () => {
    expect(filterError({ action: 'drop', field: 'function_name', op: 'contains', value: '  ' })).toBe('enter a value');
    expect(filterError({ action: 'drop', field: 'address', op: 'contains', value: '1' })).toBe('an address can only be compared with "is"');
    expect(filterError({ action: 'drop', field: 'line_number', op: 'equal', value: '4.5' })).toBe('"4.5" is not a number (decimal or 0x hex)');
    expect(filterError(sample[4])).toBeNull();
    expect(describeFilter(sample[0])).toBe('Drop stacks where function contains "runtime.gc"');
  });
});

describe('filters on the wire (Parca StackFilter / FrameFilter)', () => {
  it('maps actions to stack or frame filters with the negated condition for drop and hide', () => {
    expect(sample.map(toWire)).toEqual([
      { kind: 'stackFilter', field: 'functionName', condition: 'notContains', value: 'runtime.gc' },
      { kind: 'stackFilter', field: 'binary', condition: 'startsWith', value: 'libc.so' },
      { kind: 'frameFilter', field: 'filename', condition: 'notEqual', value: 'a:b,c%d ü/x.go' },
      { kind: 'frameFilter', field: 'systemName', condition: 'contains', value: 'std::map<int, int>' },
      { kind: 'stackFilter', field: 'address', condition: 'notEqual', value: 0x4a3f10n },
      { kind: 'stackFilter', field: 'lineNumber', condition: 'equal', value: 42n },
    ]);
  });
  it('builds the protobuf messages the server decodes', () => {
    const req = buildRequest({ query: 'p{}', from: 1, to: 2 }, null, QueryRequest_ReportType.FLAMEGRAPH_ARROW,
      { groupBy: ['function_name', 'labels.api'], invert: false, filters: sample });
    const back = fromBinary(QueryRequestSchema, toBinary(QueryRequestSchema, req));
    expect(back.groupBy?.fields).toEqual(['function_name', 'labels.api']);
    expect(back.filter).toHaveLength(6);
    const f0 = back.filter[0].filter;
    expect(f0.case).toBe('stackFilter');
    const c0 = f0.case === 'stackFilter' && f0.value.filter.case === 'criteria' ? f0.value.filter.value : null;
    expect(c0?.functionName?.condition).toEqual({ case: 'notContains', value: 'runtime.gc' });
    expect(c0?.binary).toBeUndefined();
    const f2 = back.filter[2].filter;
    expect(f2.case).toBe('frameFilter');
    const c2 = f2.case === 'frameFilter' && f2.value.filter.case === 'criteria' ? f2.value.filter.value : null;
    expect(c2?.filename?.condition).toEqual({ case: 'notEqual', value: 'a:b,c%d ü/x.go' });
    const c4 = filterMessage(sample[4]).filter;
    expect(c4.case === 'stackFilter' && c4.value.filter.case === 'criteria' ? c4.value.filter.value.address?.condition : null)
      .toEqual({ case: 'notEqual', value: 0x4a3f10n });
  });
});
