// Node tracee of NodeEndToEndTests: a known call chain with a CPU-bound leaf, run with no flag.
// Line numbers matter: the tests expect each function's first line, so edit the expectations with this file.
'use strict';

function leaf(n) {
  let total = 1;
  for (let i = 0; i < n; i++) total = (total * 31 + i) % 1000003;
  return total;
}

function level3(n) {
  return leaf(n) + 1;
}

function level2(n) {
  return level3(n) + 1;
}

function level1(n) {
  return level2(n) + 1;
}

function spin(seconds, n) {
  const end = Date.now() + seconds * 1000;
  let sum = 0;
  while (Date.now() < end) sum += level1(n);
  return sum;
}

spin(Number(process.argv[2]), Number(process.argv[3] || 100000)); // a small n makes every level hot: TurboFan inlines them
