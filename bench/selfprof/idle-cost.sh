#!/usr/bin/env bash
# Idle CPU and RSS of a Release `parca` running the repository's parca.yaml (self-scrape every 10 s).
# Usage: bench/selfprof/idle-cost.sh [warmup_s=40] [measure_s=60] [port=17070]
# PARCA_BIN=path overrides the binary (to compare builds). Builds nothing: run `dotnet build src/Parca.Server.Cli -c Release` first. CPU = utime+stime from /proc/<pid>/stat.
set -euo pipefail
warmup=${1:-40}; measure=${2:-60}; port=${3:-17070}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${PARCA_BIN:-$root/src/Parca.Server.Cli/bin/Release/net10.0/parca}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
sed "s/127.0.0.1:7070/127.0.0.1:$port/" "$root/parca.yaml" > "$work/parca.yaml"
cd "$work"
"$bin" --config-path="$work/parca.yaml" --http-address="127.0.0.1:$port" >"$work/log" 2>&1 &
pid=$!
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
sleep "$warmup"
t0=$(ticks); l0=$(cut -d' ' -f1 /proc/loadavg)
sleep "$measure"
t1=$(ticks); l1=$(cut -d' ' -f1 /proc/loadavg)
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status"); hwm=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
awk -v a="$t0" -v b="$t1" -v hz="$hz" -v m="$measure" -v r="$rss" -v h="$hwm" -v l0="$l0" -v l1="$l1" 'BEGIN {
  printf "cpu %.2f s in %d s = %.2f %% of one core; RSS %.0f MiB (peak %.0f MiB); load %s -> %s\n", (b-a)/hz, m, 100*(b-a)/hz/m, r/1024, h/1024, l0, l1 }'
grep -ci "error\|fail" "$work/log" | sed 's/^/log lines with error|fail: /'
