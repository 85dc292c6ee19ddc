#!/usr/bin/env bash
# .NET processes under the agent (issue 19): 10 busy .NET processes (tracees/dotnetchain, started with no DOTNET_*
# variable) sampled at 19 Hz. Reports, side by side in one run:
#   - parca-agent's own CPU (user + sys, % of one core, /proc/PID/stat) and peak RSS (VmHWM) while it turns their
#     perf maps on, reads them and keeps their JIT unwind tables,
#   - the cost to a profiled process: its work rate (chain calls per CPU second, printed by the tracee) and its
#     CPU and RSS, in a round without the agent and a round with it.
# Usage (root): bench/agent/dotnet-runtimes.sh [seconds per round, default 30]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-30}
PROCS=10
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
cp test/Parca.Agent.Tests/tracees/dotnetchain/* "$work/"
dotnet build "$work/Tracee.csproj" -c Release -o "$work/out" -nologo -v q >/dev/null

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# round LABEL [agent]: runs the tracees for DURATION s; prints calls per CPU second, CPU and RSS per tracee.
round() {
  local label=$1 pids=() agent=""
  if [ "${2:-}" = agent ]; then
    dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --http-address=127.0.0.1:0 \
      --profiling-cpu-sampling-frequency=19 --log-level=warn >"$work/agent.log" 2>&1 &
    agent=$!
    for _ in $(seq 120); do bpftool prog show name parca_sample_cpu >/dev/null 2>&1 && break; sleep 1; done
  fi
  local a0=0
  [ -n "$agent" ] && a0=$(cpu_ticks "$agent")
  for i in $(seq $PROCS); do
    env -u DOTNET_PerfMapEnabled dotnet "$work/out/Tracee.dll" "$DURATION" >"$work/$label.$i.out" &
    pids+=($!)
  done
  sleep 2
  local rss=0
  for p in "${pids[@]}"; do rss=$((rss + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done
  wait "${pids[@]}" 2>/dev/null || true
  cat "$work/$label".*.out | awk -v l="$label" -v n=$PROCS -v r="$rss" \
    '{ cpu += $2; calls += $4 } END { printf "| %s | %.0f calls per CPU second | %.2f CPU s per tracee | %.1f MiB RSS per tracee (2 s in) |\n", l, calls / cpu, cpu / n, r / n / 1024 }'
  if [ -n "$agent" ]; then
    local a1 hwm
    a1=$(cpu_ticks "$agent")
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
    awk -v d="$((a1 - a0))" -v tick="$TICK" -v s="$DURATION" -v m="$hwm" \
      'BEGIN { printf "| parca-agent | %.2f %% of one core | | %.1f MiB peak RSS |\n", 100 * d / tick / s, m / 1024 }'
    kill -TERM "$agent"; wait "$agent" 2>/dev/null || true
  fi
}

echo "# $PROCS busy .NET processes on $(nproc) CPUs, ${DURATION}s per round, 19 Hz; $(date -u '+%F %H:%M UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| round | work rate | CPU | RSS |"
echo "| --- | --- | --- | --- |"
round without
round with agent
