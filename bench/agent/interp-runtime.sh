#!/usr/bin/env bash
# Interpreter walk cost (docs/agent.md "Python stacks", "Ruby stacks", "PHP stacks"): PROCS busy Debian python3.11
# processes (or ruby3.1 with INTERP=ruby, php8.2 with INTERP=php, the ZTS php of scripts/build-php-zts.sh with
# INTERP=php-zts), each 30 interpreted frames deep (bench/agent/deep.py, deep.rb, deep.php), profiled by parca-agent
#   - BPF time per sample at 99 Hz with the walk and without it (--python/--ruby-unwinding-disable), from the
#     kernel's own accounting (kernel.bpf_stats_enabled, bpftool prog show: run_time_ns / run_cnt);
#   - the agent's CPU (user + sys from /proc/PID/stat) at 19 Hz with the walk on, after WARMUP seconds (default 60) of
#     start-up, and its peak RSS;
#   - the interpreter metrics (walks, frames, code-object cache entries and bytes).
# Then `perf record --call-graph dwarf` on one of the processes for comparison (py-spy cannot be installed here).
# Other agents on the machine load a program of the same name: ours is found through the agent's own descriptors.
# QUICK=1 stops after the first measurement (BPF time with the walk and the per-sample ktime counters).
# Usage (root): [INTERP=python|ruby|php|php-zts] [QUICK=1] bench/agent/interp-runtime.sh [seconds per measurement, default 30] [processes, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_=${1:-30}
PROCS=${2:-20}
INTERP=${INTERP:-python}
case "$INTERP" in
  python) tracee=(/usr/bin/python3.11 bench/agent/deep.py 30) ;;
  ruby) tracee=(/usr/bin/ruby3.1 bench/agent/deep.rb 30) ;;
  php) tracee=(/usr/bin/php8.2 bench/agent/deep.php 30) ;;
  php-zts) tracee=("$(scripts/build-php-zts.sh)" bench/agent/deep.php 30) ;;
  *) echo "INTERP must be python, ruby, php or php-zts" >&2; exit 2 ;;
esac
flag=${INTERP%-zts} # the --X-unwinding-disable flag's language
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT
. bench/agent/lib.sh

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
pids=()
for _ in $(seq "$PROCS"); do "${tracee[@]}" & pids+=($!); done

start_agent() { # hz flags...
  local hz=$1; shift
  dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --profiling-cpu-sampling-frequency="$hz" \
    --log-level=warn --http-address=127.0.0.1:17081 --dwarf-unwinding-cache-dir="$work/cache" "$@" >"$work/agent.log" 2>&1 &
  agent=$!
  prog=$(agent_prog_id "$agent")
  sleep "${SETTLE:-10}" # every process seen, its tables loaded and its interpreter detected
  kill -0 "$agent" 2>/dev/null || { echo "the agent exited:"; tail -20 "$work/agent.log"; exit 1; }
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
bpf_time "with the $INTERP walk (99 Hz)"
metrics=$(curl -s http://127.0.0.1:17081/metrics)
echo "$metrics" | grep -E '^parca_agent_interpreter_(walks_total|frames_total|walk_events_total|processes|symbol_cache|bpf_seconds)' || true
# The program's own time on the interpreter processes' samples only (the agent's ktime counters, since its start):
# on a shared machine bpftool's average above also holds every other process's samples.
echo "$metrics" | awk '/^parca_agent_interpreter_walks_total/ { w = $2 } /^parca_agent_interpreter_frames_total/ { f = $2 }
  /^parca_agent_interpreter_bpf_seconds_total\{part="sample"\}/ { s = $2 } /^parca_agent_interpreter_bpf_seconds_total\{part="walk"\}/ { k = $2 }
  END { if (w > 0) printf "BPF per %s sample (its samples only, %d walks, %.1f frames each): %.2f us, of which the walk %.2f us and the rest (native walk, kernel stack, output) %.2f us\n", "'"$INTERP"'", w, f / w, s / w * 1e6, k / w * 1e6, (s - k) / w * 1e6 }'
stop_agent
if [ -n "${QUICK:-}" ]; then echo "load after: $(uptime)"; exit 0; fi
start_agent 99 "--$flag-unwinding-disable"
bpf_time "native only, --$flag-unwinding-disable (99 Hz)"
stop_agent

start_agent 19
# Steady state, as bench/agent/overhead.sh measures: the agent's first windows JIT-compile its window, interpreter
# and shipping paths and read every process's files once; that start-up cost is not the per-second cost.
sleep "${WARMUP:-60}"
t0=$(cpu_ticks "$agent")
sleep "$SECONDS_"
t1=$(cpu_ticks "$agent")
awk -v d="$((t1 - t0))" -v tick="$TICK" -v s="$SECONDS_" -v p="$PROCS" -v m="$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")" \
  'BEGIN { printf "agent at 19 Hz with %d busy '"$INTERP"' processes: %.3f %% of one core (user+sys), peak RSS %.1f MiB\n", p, 100 * d / tick / s, m / 1024 }'
curl -s http://127.0.0.1:17081/metrics | grep -E '^parca_agent_interpreter_symbol_cache' || true
stop_agent

perf record -F 99 --call-graph dwarf -q -o "$work/perf.data" -p "${pids[0]}" -- sleep 10 >/dev/null 2>&1 || true
echo "perf record --call-graph dwarf, hottest stacks of one process (native frames only):"
perf report -i "$work/perf.data" --stdio --no-children -G 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 || true
echo "load after: $(uptime)"
