#!/usr/bin/env bash
# Agent overhead, side by side with perf: while both CPUs are busy with 50 processes, measure
#   - parca-agent's own CPU (user + sys of the whole process, from /proc/PID/stat) and peak RSS (VmHWM), and
#   - `perf record -F <same Hz> -g -a` to a file (the same numbers for the perf process),
# at 19 Hz and 99 Hz, plus the BPF program's average run time per sample (kernel.bpf_stats_enabled=1, bpftool).
# The BPF program and perf's own sampling both run in interrupt context, which /proc/PID/stat does not charge
# to either process: the BPF run time is reported separately.
# Usage (root): bench/agent/overhead.sh [seconds per measurement, default 30]
#   NOFP=1: the 50 processes are built with gcc -O2 (no frame pointers: the agent walks them with its unwind tables)
#   and perf records with --call-graph dwarf, the independent tool that unwinds such code.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-30}
WARMUP=20
PROCS=50
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
if [ "${NOFP:-0}" = 1 ]; then
  gcc -O2 -o "$work/chain" test/Parca.Agent.Tests/tracees/chain.c
  perf_graph=(--call-graph dwarf); perf_label="perf record --call-graph dwarf -a"
else
  clang -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -mllvm -enable-shrink-wrap=false \
    -o "$work/chain" test/Parca.Agent.Tests/tracees/chain.c
  perf_graph=(-g); perf_label="perf record -g -a"
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# measure PID LABEL: CPU share of one core (%) and peak RSS (MiB) over DURATION seconds after WARMUP.
measure() {
  local pid=$1 label=$2 hz=$3
  sleep "$WARMUP"
  local t0 t1
  t0=$(cpu_ticks "$pid")
  sleep "$DURATION"
  t1=$(cpu_ticks "$pid")
  local hwm
  hwm=$(hwm_kb "$pid")
  awk -v l="$label" -v hz="$hz" -v d="$((t1 - t0))" -v tick="$TICK" -v s="$DURATION" -v m="$hwm" \
    'BEGIN { printf "| %s | %d Hz | %.3f %% | %.1f MiB |\n", l, hz, 100 * d / tick / s, m / 1024 }'
}

for i in $(seq $PROCS); do "$work/chain" 100000 >/dev/null & done
echo "# $PROCS busy processes ($([ "${NOFP:-0}" = 1 ] && echo 'gcc -O2, no frame pointers' || echo 'frame pointers')) on $(nproc) CPUs; ${DURATION}s per measurement after ${WARMUP}s warm-up; $(date -u +%F)"
echo "| profiler | frequency | CPU (user+sys, % of one core) | peak RSS |"
echo "| --- | --- | --- | --- |"
for hz in 19 99; do
  dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --http-address=127.0.0.1:0 \
    --profiling-cpu-sampling-frequency=$hz --log-level=warn >"$work/agent.log" 2>&1 &
  agent=$!
  for _ in $(seq 120); do bpftool prog show name parca_sample_cpu >/dev/null 2>&1 && break; sleep 1; done
  measure $agent "parca-agent" $hz
  if [ "$hz" = 99 ]; then
    sysctl -qw kernel.bpf_stats_enabled=1
    sleep 15
    bpftool prog show name parca_sample_cpu | awk '{ for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i+1); if ($i == "run_cnt") c = $(i+1) } }
      END { if (c > 0) printf "BPF program parca_sample_cpu: %d runs in 15 s at 99 Hz, %.1f us average per sample\n", c, t / c / 1000 }' >"$work/bpf.txt" || true
    sysctl -qw kernel.bpf_stats_enabled=0
  fi
  kill -TERM $agent; wait $agent 2>/dev/null || true
  perf record -F $hz "${perf_graph[@]}" -a -q -o "$work/perf.data" -- sleep $((WARMUP + DURATION + 2)) >/dev/null 2>&1 &
  perfpid=$!
  measure "$perfpid" "$perf_label" $hz
  wait "$perfpid" || true
  rm -f "$work/perf.data"
done
cat "$work/bpf.txt"
