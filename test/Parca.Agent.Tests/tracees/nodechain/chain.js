'use strict';
// A four-level JavaScript call chain ending in a CPU-bound leaf: main -> level1 -> level2 -> level3 -> burn.
// `node chain.js SECONDS`: runs that long, then prints its CPU time and call count like the other tracees.

function burn(seed) {
  let x = seed | 0;
  for (let i = 0; i < 200000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
  }
  return x;
}

function level3(n) { return burn(n) + 1; }
function level2(n) { return level3(n) + 1; }
function level1(n) { return level2(n) + 1; }

function main() {
  const seconds = Number(process.argv[2] || 5);
  const end = Date.now() + seconds * 1000;
  let sink = 0;
  let calls = 0;
  while (Date.now() < end) {
    sink = (sink + level1(sink)) | 0;
    calls++;
  }
  const cpu = process.cpuUsage();
  console.log(`cpu_seconds ${(cpu.user + cpu.system) / 1e6} calls ${calls} ${sink & 1}`);
}

main();
