// Real peers for the server's TLS, mTLS, auth and limits: @grpc/grpc-js (native gRPC over TLS or h2c) and
// @parca/client over gRPC-Web (Node's fetch, the way Parca's UI calls the server).
// Usage: node --import ./register.mjs tls-clients.mjs '{"address":"127.0.0.1:PORT","web":"https://127.0.0.1:PORT/api",
//   "ca":"ca.crt","cert":"client.crt","key":"client.key","token":"...","write":{"file":"p.pb.gz","labels":N}}'
// (for gRPC-Web over TLS the caller sets NODE_EXTRA_CA_CERTS to the CA file). Prints one JSON object of
// "ok ..." / "error CODE details" strings that the C# tests assert.
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GrpcWebFetchTransport } from '@protobuf-ts/grpcweb-transport';
import { QueryServiceClient, ProfileStoreServiceClient } from '@parca/client';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = JSON.parse(process.argv[2]);
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(
  ['parca/query/v1alpha1/query.proto', 'parca/profilestore/v1alpha1/profilestore.proto'],
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [path.join(here, '..', '..', 'proto')] }));

const credentials = opts.ca
  ? grpc.credentials.createSsl(fs.readFileSync(opts.ca), opts.key ? fs.readFileSync(opts.key) : null, opts.cert ? fs.readFileSync(opts.cert) : null)
  : grpc.credentials.createInsecure();
const metadata = () => {
  const md = new grpc.Metadata();
  if (opts.token) md.set('authorization', 'Bearer ' + opts.token);
  return md;
};
const call = (client, method, request) => new Promise((resolve) => {
  client[method](request, metadata(), { deadline: Date.now() + 30000 }, (e, res) => resolve(e ? `error ${e.code} ${e.details}` : res));
});
const names = (types) => (types.some((t) => t.name === 'process_cpu') ? 'process_cpu' : types.map((t) => t.name).join(','));
const labels = (n) => [{ name: '__name__', value: 'process_cpu' }, ...Array.from({ length: n - 1 }, (_, i) => ({ name: `l${i}`, value: 'v' }))];

const out = {};
const query = new pkg.parca.query.v1alpha1.QueryService(opts.address, credentials);
const types = await call(query, 'ProfileTypes', {});
out.grpcProfileTypes = typeof types === 'string' ? types : 'ok ' + names(types.types);
if (opts.write) {
  const store = new pkg.parca.profilestore.v1alpha1.ProfileStoreService(opts.address, credentials);
  const raw = fs.readFileSync(opts.write.file);
  const res = await call(store, 'WriteRaw', { series: [{ labels: { labels: labels(opts.write.labels) }, samples: [{ raw_profile: raw }] }] });
  out.grpcWrite = typeof res === 'string' ? res : 'ok';
}

if (opts.web) {
  const transport = new GrpcWebFetchTransport({ baseUrl: opts.web, format: 'binary', meta: opts.token ? { authorization: 'Bearer ' + opts.token } : {} });
  const webError = (e) => `error ${e.code} ${e.message}`;
  try {
    const { response } = await new QueryServiceClient(transport).profileTypes({});
    out.webProfileTypes = 'ok ' + names(response.types);
  } catch (e) {
    out.webProfileTypes = webError(e);
  }
  if (opts.write) {
    try {
      const raw = new Uint8Array(fs.readFileSync(opts.write.file));
      await new ProfileStoreServiceClient(transport).writeRaw({ normalized: false, series: [{ labels: { labels: labels(opts.write.labels) }, samples: [{ rawProfile: raw, executableInfo: [] }] }] });
      out.webWrite = 'ok';
    } catch (e) {
      out.webWrite = webError(e);
    }
  }
}
process.stdout.write(JSON.stringify(out));
process.exit(0);
