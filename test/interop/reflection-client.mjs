// A real gRPC reflection client (grpc-js-reflection-client over @grpc/grpc-js) doing what grpcurl does without .proto
// files: list services, list a service's methods, fetch its descriptor by symbol, build a client from that
// descriptor alone and call it. Usage: node reflection-client.mjs 127.0.0.1:PORT v1|v1alpha
// Prints one JSON object; the C# test ReflectionTests asserts it.
import grpc from '@grpc/grpc-js';
import { GrpcReflection } from 'grpc-js-reflection-client';

const [address, version] = process.argv.slice(2);
const insecure = grpc.credentials.createInsecure();
const reflection = new GrpcReflection(address, insecure, {}, version);

const services = await reflection.listServices();
const methods = (await reflection.listMethods('parca.query.v1alpha1.QueryService')).map(m => m.name);
const descriptor = await reflection.getDescriptorBySymbol('parca.query.v1alpha1.QueryService');
const pkg = descriptor.getPackageObject({ keepCase: true, longs: String, enums: String, defaults: true });
const query = new pkg.parca.query.v1alpha1.QueryService(address, insecure);
const types = await new Promise((resolve, reject) => query.ProfileTypes({}, (e, r) => (e ? reject(e) : resolve(r))));
const byFile = await reflection.getDescriptorByFileName('parca/profilestore/v1alpha1/profilestore.proto');
const storeMethods = Object.keys(byFile.getPackageObject({}).parca.profilestore.v1alpha1.ProfileStoreService.service);
let missing = null;
try {
  await reflection.getDescriptorBySymbol('no.such.Service');
} catch (e) {
  missing = String(e?.message ?? e);
}

console.log(JSON.stringify({ services, methods, types: types.types.map(t => t.name), storeMethods, missing }));
query.close();
