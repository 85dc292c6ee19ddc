#!/usr/bin/env bash
# BPF program run time per sample only (the quick loop for work on bpf/profiler.bpf.c): while both CPUs are busy
# with 50 `chain` processes (FP-built, 6 frames + libc), run parca-agent at 99 Hz and read the kernel's own
# accounting (kernel.bpf_stats_enabled=1, bpftool prog show: run_time_ns / run_cnt) over SECONDS.
# Usage (root): bench/agent/bpf-runtime.sh [seconds, default 20] [tracee args, default: chain]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_=${1:-20}
PROCS=50
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
clang -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -mllvm -enable-shrink-wrap=false \
  -o "$work/chain" test/Parca.Agent.Tests/tracees/chain.c
for _ in $(seq $PROCS); do "$work/chain" 100000 >/dev/null & done
dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll \
  --profiling-cpu-sampling-frequency=99 --log-level=warn --http-address=127.0.0.1:17079 >"$work/agent.log" 2>&1 &
agent=$!
id=""
for _ in $(seq 120); do
  id=$(bpftool prog show name parca_sample_cpu 2>/dev/null | awk -F: 'NR == 1 { print $1 }') && [ -n "$id" ] && break
  sleep 1
done
sleep 3
sysctl -qw kernel.bpf_stats_enabled=1
sleep "$SECONDS_"
stats=$(bpftool prog show id "$id")
sysctl -qw kernel.bpf_stats_enabled=0
echo "$stats" | awk -v s="$SECONDS_" '{ for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i+1); if ($i == "run_cnt") c = $(i+1) } }
  END { if (c > 0) printf "parca_sample_cpu: %d runs in %d s at 99 Hz, %.2f us average per sample\n", c, s, t / c / 1000 }'
curl -s http://127.0.0.1:17079/metrics 2>/dev/null | grep -E '^parca_agent_bpf_(user|samples_(sent|dropped))' || true
kill -TERM $agent; wait $agent 2>/dev/null || true
