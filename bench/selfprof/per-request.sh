#!/usr/bin/env bash
# CPU of the Release `parca` (no scrape jobs) for each self-profiling request, repeated: utime+stime from
# /proc/<pid>/stat before and after one `curl` of /debug/pprof/<path>, after a warm-up round.
# Usage: bench/selfprof/per-request.sh [rounds=5] [port=17071]
# PARCA_BIN=path: another build; PARCA_ARGS: extra flags (e.g. --block-profile-rate=1); PATHS: space-separated paths.
set -euo pipefail
rounds=${1:-5}; port=${2:-17071}
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${PARCA_BIN:-$root/src/Parca.Server.Cli/bin/Release/net10.0/parca}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
printf 'object_storage:\n  bucket:\n    type: "FILESYSTEM"\n    config:\n      directory: "./data"\n' > "$work/parca.yaml"
cd "$work"
# shellcheck disable=SC2086
"$bin" --config-path="$work/parca.yaml" --http-address="127.0.0.1:$port" ${PARCA_ARGS:-} >"$work/log" 2>&1 &
pid=$!
hz=$(getconf CLK_TCK)
ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }
sleep 5
read -r -a paths <<< "${PATHS:-profile?seconds=10 allocs?seconds=10 goroutine mutex?seconds=10 nothing:10}"
for p in "${paths[@]}"; do [ "$p" = "nothing:10" ] || curl -sf -o /dev/null "http://127.0.0.1:$port/debug/pprof/$p"; done # warm-up
for p in "${paths[@]}"; do
  total=0
  for _ in $(seq "$rounds"); do
    t0=$(ticks)
    if [ "$p" = "nothing:10" ]; then sleep 10; else curl -sf -o /dev/null "http://127.0.0.1:$port/debug/pprof/$p"; fi
    t1=$(ticks); total=$((total + t1 - t0))
  done
  awk -v t="$total" -v n="$rounds" -v hz="$hz" -v p="$p" 'BEGIN { printf "%-22s %.3f s CPU per request (mean of %d)\n", p, t/hz/n, n }'
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
