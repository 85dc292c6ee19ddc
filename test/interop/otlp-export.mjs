// An OTLP profiles client for our server, built from the vendored .proto files (proto/opentelemetry, v1.10.0):
// no OTLP profiles exporter exists on npm (the OpenTelemetry JS SDK has no profiles signal), so the requests are
// encoded by protobufjs from the .proto text and sent by @grpc/grpc-js (gRPC over h2c) or by Node's fetch
// (OTLP/HTTP binary protobuf, optionally gzipped) — independent of the server's C# code generation.
// Usage: node otlp-export.mjs 127.0.0.1:PORT plan.json
// plan.json: [{ "name", "transport": "grpc" | "http", "gzip"?: bool, "contentType"?: string, "request": {...} }]
//   request: an ExportProfilesServiceRequest as protobufjs objects take it (proto field names, bytes as base64,
//   64-bit numbers as strings).
// Prints one JSON object: name -> { ok } | { error: { code, details } } (gRPC) | { http, code?, message? } (HTTP).
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const protoDir = path.join(here, '..', '..', 'proto');
const serviceProto = 'opentelemetry/proto/collector/profiles/v1development/profiles_service.proto';
const [address, planPath] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(planPath, 'utf8'));

const pkg = grpc.loadPackageDefinition(protoLoader.loadSync([serviceProto],
  { keepCase: true, longs: String, enums: String, defaults: true, includeDirs: [protoDir] }));
const client = new pkg.opentelemetry.proto.collector.profiles.v1development.ProfilesService(address,
  grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => path.join(protoDir, target);
root.loadSync(serviceProto, { keepCase: true });
const Request = root.lookupType('opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest');
const Response = root.lookupType('opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceResponse');
// google.rpc.Status, the OTLP/HTTP error body (only the fields read here).
const Status = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(Status);

const viaGrpc = (step) => new Promise((resolve) => {
  client.Export(step.request, (e) => resolve(e ? { error: { code: e.code, details: e.details } } : { ok: true }));
});

const viaHttp = async (step) => {
  let body = Request.encode(Request.fromObject(step.request)).finish();
  const headers = { 'content-type': step.contentType ?? 'application/x-protobuf' };
  if (step.gzip) {
    body = zlib.gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  const res = await fetch(`http://${address}/v1development/profiles`, { method: 'POST', headers, body });
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.ok) {
    Response.decode(bytes); // must be a valid ExportProfilesServiceResponse
    return { ok: true, http: res.status, contentType: res.headers.get('content-type') };
  }
  const s = Status.decode(bytes);
  return { http: res.status, code: s.code, message: s.message };
};

const out = {};
for (const step of plan) {
  out[step.name] = step.transport === 'http' ? await viaHttp(step) : await viaGrpc(step);
}
process.stdout.write(JSON.stringify(out));
client.close();
