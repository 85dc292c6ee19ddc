<?php
// PHP tracee of the interpreter tests (PhpEndToEndTests): a known call chain with a CPU-bound leaf.
// Line numbers matter: the tests expect the frames' lines, so edit the expectations with this file.

function leaf($n) {
    $total = 0;
    for ($i = 0; $i < $n; $i++) { $total += $i * $i; }
    return $total;
}

function level3($n) { return leaf($n); }

function level2($n) { return level3($n); }

function level1($n) { return level2($n); }

function cpu_seconds() {
    $usage = getrusage();
    return $usage['ru_utime.tv_sec'] + $usage['ru_utime.tv_usec'] / 1e6 + $usage['ru_stime.tv_sec'] + $usage['ru_stime.tv_usec'] / 1e6;
}

// A negative number of seconds is CPU time (a loaded machine stretches the run, never starves it).
function spin($seconds) {
    if ($seconds < 0) {
        $deadline = cpu_seconds() - $seconds;
        while (cpu_seconds() < $deadline) { level1(100000); }
    } else {
        $deadline = microtime(true) + $seconds;
        while (microtime(true) < $deadline) { level1(100000); }
    }
}

spin((float)$argv[1]);
