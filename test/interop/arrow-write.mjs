// A real @grpc/grpc-js client writing Arrow records to our server (parca.profilestore.v1alpha1).
// Usage: node arrow-write.mjs 127.0.0.1:PORT plan.json
// plan.json: [{ "name", "method": "WriteArrow" | "Write", "files": [ipc files], "deadlineMs"? }]
//  - WriteArrow sends files[0] as ipc_buffer.
//  - Write sends files[0] (the sample record), waits for the server's answer (the stack ids it needs, read here with
//    @uwdata/flechette, an Arrow implementation independent of the server's), then sends files[1] if given;
//    without files[1] it keeps the stream open and waits for the server to end it.
// Prints one JSON object: name -> { ok } | { error: { code, details } }, plus requestedIds for Write.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { tableFromIPC } from '@uwdata/flechette';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [address, planPath] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(['parca/profilestore/v1alpha1/profilestore.proto'],
  { keepCase: true, longs: String, enums: String, defaults: true, includeDirs: [path.join(here, '..', '..', 'proto')] }));
const store = new pkg.parca.profilestore.v1alpha1.ProfileStoreService(address, grpc.credentials.createInsecure(),
  { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });

const err = (e) => ({ code: e.code, details: e.details });
const opts = (step) => (step.deadlineMs ? { deadline: Date.now() + step.deadlineMs } : {});
const hex = (v) => Buffer.from(v).toString('hex');

const writeArrow = (step) => new Promise((resolve) => {
  store.WriteArrow({ ipc_buffer: fs.readFileSync(step.files[0]) }, new grpc.Metadata(), opts(step),
    (e) => resolve(e ? { error: err(e) } : { ok: true }));
});

const write = (step) => new Promise((resolve) => {
  const result = { requestedIds: [] };
  let done = false;
  const finish = (r) => { if (!done) { done = true; resolve({ ...result, ...r }); } };
  const call = store.Write(new grpc.Metadata(), opts(step));
  call.on('data', (m) => {
    const table = tableFromIPC(m.record);
    result.schemaVersion = table.schema.metadata?.get('parca_write_schema_version') ?? null;
    result.requestedIds = table.getChild('stacktrace_id').toArray().map(hex);
    if (step.files[1]) {
      call.write({ record: fs.readFileSync(step.files[1]) });
      call.end();
    }
  });
  call.on('error', (e) => finish({ error: err(e) }));
  call.on('end', () => finish({ ok: true }));
  call.write({ record: fs.readFileSync(step.files[0]) });
});

const out = {};
for (const step of plan) {
  out[step.name] = step.method === 'Write' ? await write(step) : await writeArrow(step);
}
process.stdout.write(JSON.stringify(out));
store.close();
