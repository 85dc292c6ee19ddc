<?php
// Benchmark tracee (bench/agent/interp-runtime.sh with INTERP=php or php-zts): a PHP stack 30 frames deep with a
// CPU-bound leaf.

function leaf($n) {
    $total = 0;
    for ($i = 0; $i < $n; $i++) { $total += $i * $i; }
    return $total;
}

function deep($depth, $n) {
    return $depth <= 1 ? leaf($n) : deep($depth - 1, $n);
}

function main($depth) {
    // <main>, main and leaf are three of the frames: deep makes the rest
    while (true) { deep($depth - 3, 100000); }
}

main((int)($argv[1] ?? 30));
