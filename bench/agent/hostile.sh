#!/usr/bin/env bash
# The agent next to hostile processes (issue 13): one `chain` tracee plus four processes running as nobody whose
# perf maps are a FIFO, a symlink to /dev/zero, a symlink to /etc/shadow and a 1 GiB sparse file; then the same
# with four processes spinning the same way but writing no perf map (the same CPU competition, nothing hostile). Reports, per run: windows closed, chain profiles written, the agent's peak RSS
# (VmHWM), refusals on /metrics and the agent's log lines naming a hostile process.
# Usage (root): bench/agent/hostile.sh [seconds per run, default 60]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-60}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
flags="-O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -mllvm -enable-shrink-wrap=false"
clang $flags -o "$work/chain" test/Parca.Agent.Tests/tracees/chain.c
clang $flags -o "$work/hostile_perfmap" test/Parca.Agent.Tests/tracees/hostile_perfmap.c
port=$((20000 + RANDOM % 20000))

run() {
  local label=$1 modes=$2 store="$work/store-$1"
  local pids=()
  "$work/chain" 100000 >/dev/null & pids+=($!)
  local chain=$!
  for mode in $modes; do "$work/hostile_perfmap" "$mode" >/dev/null & pids+=($!); done
  dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --http-address=127.0.0.1:$port \
    --profiling-duration=1s --local-store-directory="$store" >"$work/agent-$label.log" 2>&1 &
  local agent=$!
  sleep "$DURATION"
  local metrics windows refused hwm profiles lines health
  metrics=$(curl -s "http://127.0.0.1:$port/metrics")
  health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthy")
  windows=$(awk '/^parca_agent_windows_total/ {print $2}' <<<"$metrics")
  refused=$(grep '^parca_agent_process_files_refused_total' <<<"$metrics" | awk '$2 > 0' | sed 's/parca_agent_process_files_refused_total//' | tr '\n' ' ')
  hwm=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$agent/status")
  profiles=$(ls "$store" | grep -c "^chain-${chain}_.*pb.gz$" || true)
  lines=$(grep -c "hostile_perfmap" "$work/agent-$label.log" || true)
  echo "| $label | ${DURATION} s | $windows | $profiles | $hwm MiB | $health | ${refused:-none} | $lines |"
  kill -TERM $agent; wait $agent 2>/dev/null || true
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  for p in "${pids[@]}"; do rm -f "/tmp/perf-$p.map"; done # only the hostile processes' own files
}

echo "# $(date -u '+%F %H:%M') UTC, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| run | length | windows closed | chain profiles | agent peak RSS | /healthy | refusals (reason count) | log lines naming a hostile process |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
run hostile "fifo zero shadow big"
run baseline "none none none none"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
