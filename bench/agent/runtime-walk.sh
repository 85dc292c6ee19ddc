#!/usr/bin/env bash
# Per-runtime cost of the agent (issue 19): for each of .NET (tracees/dotnetchain, no DOTNET_* variable), OpenJDK 17
# (tracees/javachain, no flags) and node 20 (tracees/nodechain, no flags) in turn, PROCS busy processes of that
# runtime alone are profiled at 19 Hz, and after SETTLE seconds (perf maps on or written, JIT tables loaded) for
# SECONDS_ seconds:
#   - BPF µs per sample, from the kernel's own accounting (kernel.bpf_stats_enabled; bpftool prog show: run_time_ns /
#     run_cnt of the agent's own program, found through its descriptors: other agents load one of the same name).
#     Every sample on the machine counts (the other sessions' processes too), so the load is printed beside it;
#   - the agent's CPU (user + sys from /proc/PID/stat, % of one core) and peak RSS;
#   - the JIT metrics (perf map re-reads, JIT rows).
# The agent profiles the whole machine: KINDS may include `none` (the same agent, no tracee started) to measure what the
# machine's other processes cost it (on a shared machine, other .NET processes' perf maps: see bench/README.md).
# Usage (root): [KINDS="none node"] bench/agent/runtime-walk.sh [seconds, default 30] [processes per runtime, default 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_=${1:-30}
PROCS=${2:-2}
SETTLE=${SETTLE:-20}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT
. bench/agent/lib.sh

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
build_runtime_tracees
run_for=$((SETTLE + SECONDS_ + 30))

for kind in ${KINDS:-dotnet java node}; do
  pids=()
  [ "$kind" = none ] || for _ in $(seq "$PROCS"); do start_runtime_tracee "$kind" "$run_for" /dev/null; pids+=($!); done
  dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --profiling-cpu-sampling-frequency=19 \
    --log-level=warn --http-address=127.0.0.1:17082 --dwarf-unwinding-cache-dir="$work/cache" >"$work/agent.log" 2>&1 &
  agent=$!
  prog=$(agent_prog_id "$agent")
  sleep "$SETTLE"
  kill -0 "$agent" 2>/dev/null || { echo "the agent exited:"; tail -20 "$work/agent.log"; exit 1; }
  sysctl -qw kernel.bpf_stats_enabled=1
  before=$(bpftool prog show id "$prog")
  t0=$(cpu_ticks "$agent")
  sleep "$SECONDS_"
  t1=$(cpu_ticks "$agent")
  after=$(bpftool prog show id "$prog")
  sysctl -qw kernel.bpf_stats_enabled=0
  # bpftool prints run_time_ns/run_cnt only once stats were on and the program ran: absent = 0
  field() { echo "$1" | awk -v f="$2" 'BEGIN { v = 0 } { for (i = 1; i <= NF; i++) if ($i == f) v = $(i+1) } END { print v }'; }
  rt=$(( $(field "$after" run_time_ns) - $(field "$before" run_time_ns) ))
  rc=$(( $(field "$after" run_cnt) - $(field "$before" run_cnt) ))
  metrics=$(curl -s http://127.0.0.1:17082/metrics | grep -E '^parca_agent_(dotnet|java)_perf_map_rereads_total' | tr '\n' ' ' || true)
  awk -v k="$kind" -v p="$([ "$kind" = none ] && echo 0 || echo "$PROCS")" -v t="$rt" -v c="$rc" -v d="$((t1 - t0))" -v tick="$TICK" -v s="$SECONDS_" \
    -v m="$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" -v x="$metrics" \
    'BEGIN { printf "| %s ×%d | %.2f µs (%d samples) | %.2f %% of one core | %.1f MiB | %s | %s |\n", k, p, c ? t / c / 1000 : 0, c, 100 * d / tick / s, m / 1024, load, x }'
  kill -TERM "$agent"; wait "$agent" 2>/dev/null || true
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
done
