#!/usr/bin/env bash
# Interpreter walk cost (docs/agent.md "Python stacks"): PROCS busy Debian python3.11 processes, each 30 Python
# frames deep (bench/agent/deep.py), profiled by parca-agent
#   - BPF time per sample at 99 Hz with the Python walk and without it (--python-unwinding-disable), from the
#     kernel's own accounting (kernel.bpf_stats_enabled, bpftool prog show: run_time_ns / run_cnt);
#   - the agent's CPU (user + sys from /proc/PID/stat) at 19 Hz with the walk on, after WARMUP seconds (default 60) of
#     start-up, and its peak RSS;
#   - the interpreter metrics (walks, frames, code-object cache entries and bytes).
# Then `perf record --call-graph dwarf` on one of the processes for comparison (py-spy cannot be installed here).
# Other agents on the machine load a program of the same name: the newest one (highest id) is taken as ours.
# Usage (root): bench/agent/interp-runtime.sh [seconds per measurement, default 30] [processes, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_=${1:-30}
PROCS=${2:-20}
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
pids=()
for _ in $(seq "$PROCS"); do /usr/bin/python3.11 bench/agent/deep.py 30 & pids+=($!); done

start_agent() { # hz flags...
  local hz=$1; shift
  dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --profiling-cpu-sampling-frequency="$hz" \
    --log-level=warn --http-address=127.0.0.1:17081 --dwarf-unwinding-cache-dir="$work/cache" "$@" >"$work/agent.log" 2>&1 &
  agent=$!
  prog=""
  for _ in $(seq 120); do
    prog=$(bpftool prog show name parca_sample_cpu 2>/dev/null | awk -F: '/^[0-9]+:/ { last = $1 } END { print last }') && [ -n "$prog" ] && break
    sleep 1
  done
  sleep 10 # every process seen, its tables loaded and its Python detected
}
stop_agent() { kill -TERM "$agent"; wait "$agent" 2>/dev/null || true; }

bpf_time() { # label
  sysctl -qw kernel.bpf_stats_enabled=1
  sleep "$SECONDS_"
  local stats; stats=$(bpftool prog show id "$prog")
  sysctl -qw kernel.bpf_stats_enabled=0
  echo "$stats" | awk -v s="$SECONDS_" -v n="$1" '{ for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i+1); if ($i == "run_cnt") c = $(i+1) } }
    END { if (c > 0) printf "BPF %s: %d samples in %d s, %.2f us average per sample\n", n, c, s, t / c / 1000 }'
}

echo "load before: $(uptime)"
start_agent 99
bpf_time "with the Python walk (99 Hz)"
curl -s http://127.0.0.1:17081/metrics | grep -E '^parca_agent_interpreter_(walks_total|frames_total|walk_events_total|processes|symbol_cache)' || true
stop_agent
start_agent 99 --python-unwinding-disable
bpf_time "native only, --python-unwinding-disable (99 Hz)"
stop_agent

start_agent 19
# Steady state, as bench/agent/overhead.sh measures: the agent's first windows JIT-compile its window, interpreter
# and shipping paths and read every process's files once; that start-up cost is not the per-second cost.
sleep "${WARMUP:-60}"
t0=$(awk '{print $14 + $15}' "/proc/$agent/stat")
sleep "$SECONDS_"
t1=$(awk '{print $14 + $15}' "/proc/$agent/stat")
awk -v d="$((t1 - t0))" -v tick="$TICK" -v s="$SECONDS_" -v p="$PROCS" -v m="$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")" \
  'BEGIN { printf "agent at 19 Hz with %d busy python processes: %.3f %% of one core (user+sys), peak RSS %.1f MiB\n", p, 100 * d / tick / s, m / 1024 }'
curl -s http://127.0.0.1:17081/metrics | grep -E '^parca_agent_interpreter_symbol_cache' || true
stop_agent

perf record -F 99 --call-graph dwarf -q -o "$work/perf.data" -p "${pids[0]}" -- sleep 10 >/dev/null 2>&1 || true
echo "perf record --call-graph dwarf, hottest stacks of one process (native frames only):"
perf report -i "$work/perf.data" --stdio --no-children -G 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 || true
echo "load after: $(uptime)"
