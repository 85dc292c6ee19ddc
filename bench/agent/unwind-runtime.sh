#!/usr/bin/env bash
# BPF time per sample, table unwinding vs the frame-pointer walk, side by side in one run: PROCS busy copies of the
# `deep` tracee (21 user frames) built at -O2 without frame pointers (table walk, default mode) and with frame
# pointers (--dwarf-unwinding-disable), parca-agent at 99 Hz, the kernel's own accounting (kernel.bpf_stats_enabled,
# bpftool prog show: run_time_ns / run_cnt). Also prints the agent's unwind metrics (frames by method, table rows).
# Other agents on the machine load a program of the same name: the newest one (highest id) is taken as ours.
# Usage (root): bench/agent/unwind-runtime.sh [seconds per mode, default 20] [processes, default 50]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_=${1:-20}
PROCS=${2:-50}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$work"' EXIT

dotnet build src/Parca.Agent.Cli -c Release -nologo -clp:ErrorsOnly >/dev/null
gcc -O2 -o "$work/deep-nofp" test/Parca.Agent.Tests/tracees/deep.c
clang -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -mllvm -enable-shrink-wrap=false \
  -o "$work/deep-fp" test/Parca.Agent.Tests/tracees/deep.c

measure() { # mode-name tracee agent-flags...
  local name=$1 tracee=$2; shift 2
  local pids=()
  for _ in $(seq "$PROCS"); do "$tracee" 100000 >/dev/null & pids+=($!); done
  dotnet src/Parca.Agent.Cli/bin/Release/net10.0/parca-agent.dll --profiling-cpu-sampling-frequency=99 \
    --log-level=warn --http-address=127.0.0.1:17079 --dwarf-unwinding-cache-dir="$work/cache" "$@" >"$work/agent.log" 2>&1 &
  local agent=$! id=""
  for _ in $(seq 120); do
    id=$(bpftool prog show name parca_sample_cpu 2>/dev/null | awk -F: '/^[0-9]+:/ { last = $1 } END { print last }') && [ -n "$id" ] && break
    sleep 1
  done
  sleep 5 # every tracee seen and its tables loaded
  sysctl -qw kernel.bpf_stats_enabled=1
  sleep "$SECONDS_"
  local stats; stats=$(bpftool prog show id "$id")
  sysctl -qw kernel.bpf_stats_enabled=0
  echo "$stats" | awk -v s="$SECONDS_" -v n="$name" '{ for (i = 1; i <= NF; i++) { if ($i == "run_time_ns") t = $(i+1); if ($i == "run_cnt") c = $(i+1) } }
    END { if (c > 0) printf "%s: %d runs in %d s, %.2f us average per sample\n", n, c, s, t / c / 1000 }'
  curl -s http://127.0.0.1:17079/metrics | grep -E '^parca_agent_unwind_(frames_total|events_total|table_rows|tables_loaded)' || true
  kill -TERM $agent; wait $agent 2>/dev/null || true
  kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true
}
echo "load before: $(uptime)"
measure "tables, -O2 no frame pointers" "$work/deep-nofp"
measure "frame pointers (--dwarf-unwinding-disable), FP build" "$work/deep-fp" --dwarf-unwinding-disable
echo "load after: $(uptime)"
