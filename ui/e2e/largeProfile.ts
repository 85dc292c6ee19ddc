// Synthetic CPU profiles the size of pprof's large.cpu (20k stacks, ~425k call-tree nodes) and larger, the same
// shape as bench/Parca.LoadGen/LargeProfile.cs: each stack shares a random prefix of an earlier one and continues
// with random frames from 8,000 C++-looking functions until the tree has the asked number of nodes.
import { Function as PFunction, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';

function rng(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296 * n) | 0;
  };
}

export function largeProfile(nodes: number, timeMs: number, seed = 17, functions = 8000): Profile {
  const st = new StringTable();
  const next = rng(seed);
  const period = 10_000_000;
  const fns: PFunction[] = [];
  const locs: Location[] = [];
  for (let f = 1; f <= functions; f++) {
    fns.push(new PFunction({ id: f, name: st.dedup(`ns${f % 37}::Component${f % 211}::method_${f}(int, std::string const&)`), systemName: st.dedup(`_ZN2ns${f}`), filename: st.dedup(`src/ns${f % 37}/component${f % 211}.cc`), startLine: f % 997 }));
    locs.push(new Location({ id: f, mappingId: 1, address: 0x400000 + f * 64, line: [new Line({ functionId: f, line: 10 + (f % 500) })] }));
  }
  const tree = new Map<number, number>(); // parent * 8192 + function → node
  const stacks: Int32Array[] = [];
  const samples: Sample[] = [];
  let count = 0;
  while (count < nodes) {
    let depth = 8 + next(48);
    let stack = new Int32Array(depth);
    let shared = 0;
    if (stacks.length > 0) {
      const other = stacks[next(stacks.length)];
      shared = Math.min(depth - 1, next(other.length));
      stack.set(other.subarray(0, shared));
    }
    for (let i = shared; i < depth; i++) stack[i] = 1 + next(functions);
    let node = 0;
    for (let i = 0; i < depth; i++) {
      const key = node * 8192 + stack[i];
      let child = tree.get(key);
      if (child === undefined) {
        if (count === nodes) { depth = i; stack = stack.slice(0, i); break; }
        child = ++count;
        tree.set(key, child);
      }
      node = child;
    }
    if (depth === 0) continue;
    stacks.push(stack);
    const n = 1 + next(next(4) === 0 ? 400 : 20);
    samples.push(new Sample({ locationId: Array.from(stack).reverse(), value: [n, n * period] }));
  }
  return new Profile({
    sampleType: [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }), new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') })],
    sample: samples, location: locs, function: fns,
    mapping: [new Mapping({ id: 1, memoryStart: 0x400000, memoryLimit: 0x4000000, filename: st.dedup('/usr/bin/large'), buildId: st.dedup('5f0c6a1e'), hasFunctions: true })],
    stringTable: st, timeNanos: BigInt(timeMs) * 1_000_000n, durationNanos: 10_000_000_000, periodType: new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }), period,
  });
}
