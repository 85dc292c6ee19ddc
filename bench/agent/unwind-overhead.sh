#!/usr/bin/env bash
# The table unwinder's cost to the machine, with perf's DWARF unwinding as the anchor in the same run: while both
# CPUs are busy with PROCS copies of tracees/deep.c built at -O2 without frame pointers (21 user frames), measure
#   - parca-agent at 19 Hz (table unwinding, the default): its CPU (user + sys from /proc/PID/stat) and peak RSS
#     (VmHWM, tables included), plus the BPF row memory it loaded (parca_agent_unwind_table_bytes) and the BPF
#     program's average run time per sample (kernel.bpf_stats_enabled);
#   - `perf record -F 19 --call-graph dwarf -a` over the same workload: the same CPU and RSS numbers for perf.
# BPF programs and perf's sampling run in interrupt context, which /proc/PID/stat does not charge to either process.
# Usage (root): bench/agent/unwind-overhead.sh [seconds per measurement, default 30] [processes, default 50]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-30}
PROCS=${2:-50}
WARMUP=15
HZ=19
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
gcc -O2 -o "$work/deep-nofp" test/Parca.Agent.Tests/tracees/deep.c

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
measure() { # pid label
  local pid=$1 label=$2 t0 t1 hwm
  sleep "$WARMUP"
  t0=$(cpu_ticks "$pid"); sleep "$DURATION"; t1=$(cpu_ticks "$pid"); hwm=$(hwm_kb "$pid")
  awk -v l="$label" -v d="$((t1 - t0))" -v tick="$TICK" -v s="$DURATION" -v m="$hwm" -v hz="$HZ" \
    'BEGIN { printf "| %s | %d Hz | %.3f %% | %.1f MiB |\n", l, hz, 100 * d / tick / s, m / 1024 }'
}

pids=()
for _ in $(seq "$PROCS"); do "$work/deep-nofp" 100000 >/dev/null & pids+=($!); done
echo "# $PROCS busy no-frame-pointer processes on $(nproc) CPUs; ${DURATION}s per measurement after ${WARMUP}s warm-up; $(date -u '+%F %H:%M') UTC"
echo "# load before: $(uptime)"
echo "| profiler | frequency | CPU (user+sys, % of one core) | peak RSS |"
echo "| --- | --- | --- | --- |"
dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --http-address=127.0.0.1:17081 \
  --profiling-cpu-sampling-frequency=$HZ --log-level=warn --dwarf-unwinding-cache-dir="$work/cache" >"$work/agent.log" 2>&1 &
agent=$!
id=""
for _ in $(seq 120); do
  id=$(bpftool prog show name parca_sample_cpu 2>/dev/null | awk -F: '/^[0-9]+:/ { last = $1 } END { print last }') && [ -n "$id" ] && break
  sleep 1
done
measure $agent "parca-agent (tables)"
sysctl -qw kernel.bpf_stats_enabled=1; sleep 10
bpf=$(bpftool prog show id "$id" | awk '{ for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i+1); if ($i == "run_cnt") c = $(i+1) } }
  END { if (c > 0) printf "%d runs in 10 s, %.2f us average per sample", c, t / c / 1000 }')
sysctl -qw kernel.bpf_stats_enabled=0
metrics=$(curl -s http://127.0.0.1:17081/metrics | grep -E '^parca_agent_unwind_(table_bytes|table_rows|tables_loaded|processes|tables_built_total|frames_total)' || true)
kill -TERM $agent; wait $agent 2>/dev/null || true

perf record -F $HZ --call-graph dwarf -a -q -o "$work/perf.data" -- sleep $((WARMUP + DURATION + 2)) >/dev/null 2>&1 &
perfpid=$!
measure "$perfpid" "perf record --call-graph dwarf -a"
wait "$perfpid" || true
echo
echo "BPF program parca_sample_cpu at $HZ Hz: $bpf"
echo "perf.data after $((WARMUP + DURATION)) s: $(du -m "$work/perf.data" | cut -f1) MB"
echo "$metrics"
echo "# load after: $(uptime)"
