#!/usr/bin/env bash
# BPF sampler run time, this tree's bpf/ against another revision's, measured side by side (bpf-ab.c): both programs
# sample every CPU at the same time at 99 Hz while a workload keeps the CPUs busy, so host and cache noise hits both
# alike. Repeats ROUNDS times and prints each round and the median per build.
# Workloads: chain (50 processes of the FP-built chain tracee: user-mode samples, 6 frames + libc) or syscalls
# (10 processes reading /dev/zero: mostly kernel-mode samples, i.e. bpf_get_stack's kernel unwinding).
# Usage (root): bench/agent/bpf-ab.sh [baseline git rev, default HEAD] [seconds per round, 20] [rounds, 5] [chain|syscalls]
set -euo pipefail
cd "$(dirname "$0")/../.."
REV=${1:-HEAD}
SECONDS_=${2:-20}
ROUNDS=${3:-5}
WORKLOAD=${4:-chain}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

[ -f bpf/vmlinux.h ] || bpftool btf dump file /sys/kernel/btf/vmlinux format c >bpf/vmlinux.h
bpf_cc() { clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I"$1" -I bpf -c "$1/profiler.bpf.c" -o "$2"; }
mkdir -p "$work/base"
git show "$REV:bpf/profiler.bpf.c" >"$work/base/profiler.bpf.c"
git show "$REV:bpf/parca_agent.h" >"$work/base/parca_agent.h"
bpf_cc "$work/base" "$work/base.o"
bpf_cc bpf "$work/tree.o"
clang -O2 -Wall -o "$work/bpf-ab" bench/agent/bpf-ab.c -lbpf

fp="-O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -mllvm -enable-shrink-wrap=false"
case "$WORKLOAD" in
  chain) clang $fp -o "$work/tracee" test/Parca.Agent.Tests/tracees/chain.c; procs=50 ;;
  syscalls) clang $fp -o "$work/tracee" test/Parca.Agent.Tests/tracees/syscalls.c; procs=10 ;;
  *) echo "unknown workload $WORKLOAD" >&2; exit 2 ;;
esac
for _ in $(seq $procs); do "$work/tracee" 100000 >/dev/null & done
sleep 2

echo "baseline = $REV, tree = working tree; $WORKLOAD workload, 99 Hz, $ROUNDS rounds of $SECONDS_ s"
for r in $(seq "$ROUNDS"); do
  "$work/bpf-ab" 99 "$SECONDS_" "$work/base.o" "$work/tree.o" | sed "s|$work/||; s|^|round $r: |"
done | tee "$work/rounds"
for build in base tree; do
  grep " $build.o " "$work/rounds" | awk '{ print $(NF-3) }' | sort -n |
    awk -v b="$build" '{ v[NR] = $1 } END { printf "%s: median %.2f us/run (min %.2f, max %.2f)\n", b, v[int((NR + 1) / 2)], v[1], v[NR] }'
done
