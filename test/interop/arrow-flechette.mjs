// @uwdata/flechette, an Arrow implementation independent of Apache.Arrow, on both sides of Parca's write records.
//   node arrow-flechette.mjs read FILE        prints the rows of an Arrow IPC stream as JSON (v2 sample records)
//   node arrow-flechette.mjs v1 SPEC OUTDIR   writes OUTDIR/sample.arrow and OUTDIR/locations.arrow: parca-agent's
//                                            v1 sample and locations records for the samples in SPEC (JSON)
// SPEC: [{ labels: {name: value}, stack: [{ address, mapping_file, build_id, functions: [name, ...] }] (leaf first),
//          value, producer, sample_type, sample_unit, period_type, period_unit, period, duration, time }]
import {
  tableFromArrays, tableToIPC, tableFromIPC, runEndEncoded, dictionary, binary, int32, int64, uint64, list, struct, field, bool,
} from '@uwdata/flechette';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [mode, input, outDir] = process.argv.slice(2);
const utf8 = new TextEncoder();
const json = (v) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? x.toString()
  : x instanceof Uint8Array ? new TextDecoder().decode(x) : x instanceof Map ? Object.fromEntries(x) : x));

if (mode === 'read') {
  const table = tableFromIPC(fs.readFileSync(input), { useBigInt: true });
  process.stdout.write(json({ metadata: table.schema.metadata, fields: table.schema.fields.map((f) => f.name), rows: table.toArray() }));
} else if (mode === 'v1') {
  const samples = JSON.parse(fs.readFileSync(input, 'utf8'));
  const ree = (values) => runEndEncoded(field('run_ends', int32(), false), field('values', values, true));
  const bin = (s) => (s == null || s === '' ? null : utf8.encode(s));
  const stackKey = (s) => JSON.stringify(s.stack);
  const stackId = (s) => crypto.createHash('md5').update(stackKey(s)).digest();
  const labelNames = [...new Set(samples.flatMap((s) => Object.keys(s.labels)))].sort();

  const columns = {};
  const types = {};
  for (const n of labelNames) {
    columns[`labels.${n}`] = samples.map((s) => bin(s.labels[n]));
    types[`labels.${n}`] = ree(dictionary(binary()));
  }
  const strings = { producer: 'producer', sample_type: 'sample_type', sample_unit: 'sample_unit', period_type: 'period_type', period_unit: 'period_unit' };
  columns.stacktrace_id = samples.map(stackId);
  types.stacktrace_id = ree(dictionary(binary()));
  columns.value = samples.map((s) => BigInt(s.value));
  types.value = int64();
  for (const k of Object.keys(strings)) {
    columns[k] = samples.map((s) => bin(s[k]));
    types[k] = ree(dictionary(binary()));
  }
  columns.temporality = samples.map((s) => bin(s.duration ? 'delta' : null));
  types.temporality = ree(dictionary(binary()));
  for (const k of ['period', 'duration', 'time']) {
    columns[k === 'time' ? 'timestamp' : k] = samples.map((s) => BigInt(s[k]));
    types[k === 'time' ? 'timestamp' : k] = ree(int64());
  }
  const sample = tableFromArrays(columns, { types, useBigInt: true });
  sample.schema.metadata = new Map([['parca_write_schema_version', 'v1']]);

  // One row per distinct stack id: what the server asks for.
  const unique = new Map();
  for (const s of samples) unique.set(stackId(s).toString('hex'), s);
  const rows = [...unique.values()];
  const line = struct([field('line', int64()), field('column', uint64()), field('function_name', dictionary(binary())),
    field('function_system_name', dictionary(binary())), field('function_filename', ree(dictionary(binary()))), field('function_start_line', int64())]);
  const location = struct([field('address', uint64()), field('frame_type', ree(dictionary(binary()))),
    field('mapping_start', ree(uint64())), field('mapping_limit', ree(uint64())), field('mapping_offset', ree(uint64())),
    field('mapping_file', ree(dictionary(binary()))), field('mapping_build_id', ree(dictionary(binary()))), field('lines', list(line))]);
  const locations = tableFromArrays({
    stacktrace_id: rows.map(stackId),
    is_complete: rows.map(() => true),
    locations: rows.map((s) => s.stack.map((f) => ({
      address: BigInt(f.address), frame_type: bin('native'), mapping_start: 0n, mapping_limit: 0n, mapping_offset: 0n,
      mapping_file: bin(f.mapping_file), mapping_build_id: bin(f.build_id),
      lines: f.functions.map((fn) => ({ line: 0n, column: 0n, function_name: bin(fn), function_system_name: bin(fn), function_filename: null, function_start_line: 0n })),
    }))),
  }, { types: { stacktrace_id: binary(), is_complete: bool(), locations: list(location) }, useBigInt: true });
  locations.schema.metadata = new Map([['parca_write_schema_version', 'v1']]);

  fs.writeFileSync(path.join(outDir, 'sample.arrow'), tableToIPC(sample, { format: 'stream' }));
  fs.writeFileSync(path.join(outDir, 'locations.arrow'), tableToIPC(locations, { format: 'stream' }));
  process.stdout.write(json({ samples: samples.length, stacks: rows.length }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
