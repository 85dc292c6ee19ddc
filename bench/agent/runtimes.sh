#!/usr/bin/env bash
# Managed runtimes under the agent (issue 19): 10 busy .NET processes (tracees/dotnetchain, no DOTNET_* variable),
# 5 JVMs (tracees/javachain on OpenJDK 17, no flags) and 5 Node processes (tracees/nodechain, no flags), sampled at
# 19 Hz. Reports, side by side in one run:
#   - parca-agent's own CPU (user + sys, % of one core, /proc/PID/stat) and peak RSS (VmHWM), separately for the
#     warm-up (agent and tracees start together: it turns the .NET perf maps on, has the JVMs write theirs, reads them
#     and builds the JIT unwind tables) and for the measured seconds after it (steady state, the goal's figure),
#   - the cost to a profiled process, per runtime: its work rate (chain calls per CPU second over its whole life,
#     warm-up included, printed by the tracee), its CPU and RSS, in a round without the agent and a round with it.
# Usage (root): bench/agent/runtimes.sh [measured seconds, default 30] [warm-up seconds, default 0]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-30}
WARMUP=${2:-0}
if [ "$WARMUP" -ne 0 ] && [ "$WARMUP" -lt 5 ]; then echo "warm-up: 0 or at least 5 s (RSS is read 5 s in)"; exit 2; fi
LIFE=$((WARMUP + DURATION))
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
. bench/agent/lib.sh

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
build_runtime_tracees

# round LABEL [agent]: runs every tracee for WARMUP + DURATION s; prints per runtime calls per CPU second, CPU and RSS.
round() {
  local label=$1 agent="" pids=() kinds=()
  if [ "${2:-}" = agent ]; then
    dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --http-address=127.0.0.1:0 \
      --profiling-cpu-sampling-frequency=19 --log-level=warn >"$work/agent.log" 2>&1 &
    agent=$!
    [ -n "$(agent_prog_id "$agent")" ] || { echo "the agent loaded no program:"; tail -20 "$work/agent.log"; exit 1; }
  fi
  local a0=0 aw=0
  [ -n "$agent" ] && a0=$(cpu_ticks "$agent")
  for kind in dotnet java node; do
    local n=5
    [ $kind = dotnet ] && n=10
    for i in $(seq $n); do start_runtime_tracee $kind "$LIFE" "$work/$label.$kind.$i.out"; pids+=($!); kinds+=($kind); done
  done
  sleep 5
  declare -A rss=()
  for j in "${!pids[@]}"; do
    local k=${kinds[$j]} r
    r=$(awk '/VmRSS/ {print $2}' "/proc/${pids[$j]}/status" 2>/dev/null || echo 0)
    rss[$k]=$(( ${rss[$k]:-0} + r ))
  done
  if [ "$WARMUP" -gt 5 ]; then sleep $((WARMUP - 5)); fi
  aw=$a0
  [ -n "$agent" ] && [ "$WARMUP" -gt 0 ] && aw=$(cpu_ticks "$agent")
  wait "${pids[@]}" 2>/dev/null || true
  for kind in dotnet java node; do
    cat "$work/$label.$kind".*.out | awk -v l="$label" -v k=$kind -v r="${rss[$kind]}" \
      '{ cpu += $2; calls += $4; n++ } END { printf "| %s | %s ×%d | %.1f calls per CPU second | %.2f CPU s each | %.1f MiB RSS each (5 s in) |\n", l, k, n, calls / cpu, cpu / n, r / n / 1024 }'
  done
  if [ -n "$agent" ]; then
    local a1 hwm
    a1=$(cpu_ticks "$agent")
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
    if [ "$WARMUP" -gt 0 ]; then
      awk -v d="$((aw - a0))" -v tick="$TICK" -v s="$WARMUP" \
        'BEGIN { printf "| %s | parca-agent, warm-up | %.2f %% of one core | | |\n", "with", 100 * d / tick / s }'
    fi
    awk -v d="$((a1 - aw))" -v tick="$TICK" -v s="$DURATION" -v m="$hwm" \
      'BEGIN { printf "| %s | parca-agent, measured | %.2f %% of one core | | %.1f MiB peak RSS |\n", "with", 100 * d / tick / s, m / 1024 }'
    kill -TERM "$agent"; wait "$agent" 2>/dev/null || true
  fi
}

echo "# 10 .NET, 5 JVM, 5 Node busy processes on $(nproc) CPUs, ${WARMUP}s warm-up + ${DURATION}s measured per round, 19 Hz; $(date -u '+%F %H:%M UTC'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round | process | work rate | CPU | RSS |"
echo "| --- | --- | --- | --- | --- |"
round without
round with agent
