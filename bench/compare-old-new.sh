#!/usr/bin/env bash
# Old and new side by side in one sitting, on the same machine under the same load:
#   bench/compare-old-new.sh [OLD_REV]     (default b2aee6d: main before issue 15's move to Grpc.AspNetCore)
# Builds OLD_REV in a detached worktree outside the repository, then for each BenchmarkDotNet filter runs the old
# build's suite and this tree's suite back to back (ShortRun, in-process), then `ingest-process` of this tree's load
# generator against the old and the new Release `parca` alternately (PARCA_DLL). Prints `uptime` before and after.
# Results: artifacts/bench-compare/{old,new}-*.md and ingest.txt. Needs `make build` (or the Release builds) here.
set -euo pipefail
old_rev=${1:-b2aee6d}
root=$(cd "$(dirname "$0")/.." && pwd)
old=${OLD_DIR:-/tmp/parca-bench-old-$old_rev}
out=$root/artifacts/bench-compare
filters=${FILTERS:-"*RpcRoundTrip* *WriteRawParse* *QueryRangeBenchmarks.Engine* *MergeBenchmarks*"}
ingest_rounds=${INGEST_ROUNDS:-2}
mkdir -p "$out"

if [ ! -d "$old" ]; then
  git -C "$root" worktree add --detach "$old" "$old_rev"
  # b2aee6d itself does not compile (a semantic conflict of its merge, fixed by 933eaf2): apply that fix's
  # QueryService part, which only passes the call's cancellation token, so the old side builds as main ran it.
  if [ "$old_rev" = b2aee6d ]; then
    git -C "$root" show 933eaf2 -- src/Parca.Server/Services/QueryService.cs | git -C "$old" apply
  fi
fi
# The RPC suite starts test/interop/grpc-server.mjs: the old tree uses this tree's node_modules.
if [ ! -e "$old/test/interop/node_modules" ]; then
  ln -s "$root/test/interop/node_modules" "$old/test/interop/node_modules"
fi

for tree in "$old" "$root"; do
  dotnet build "$tree/bench/Parca.Benchmarks/Parca.Benchmarks.csproj" -c Release -v q -nologo
  dotnet build "$tree/src/Parca.Server.Cli/Parca.Server.Cli.csproj" -c Release -v q -nologo
done
dotnet build "$root/bench/Parca.LoadGen/Parca.LoadGen.csproj" -c Release -v q -nologo

echo "start: $(date -u +%FT%TZ) $(uptime)" | tee "$out/load.txt"
for filter in $filters; do
  name=$(echo "$filter" | tr -d '*')
  for side in old new; do
    tree=$old; [ "$side" = new ] && tree=$root
    (cd "$tree" && dotnet "bench/Parca.Benchmarks/bin/Release/net10.0/Parca.Benchmarks.dll" --filter "$filter" --job short --inProcess \
      --artifacts "$out/bdn-$side-$name" >/dev/null)
    cat "$out/bdn-$side-$name"/results/*-report-github.md > "$out/$side-$name.md"
    echo "$side $filter done: $(uptime)" | tee -a "$out/load.txt"
  done
done

: > "$out/ingest.txt"
for round in $(seq 1 "$ingest_rounds"); do
  for side in old new; do
    tree=$old; [ "$side" = new ] && tree=$root
    echo "== round $round: $side ($(uptime))" | tee -a "$out/ingest.txt"
    PARCA_DLL="$tree/src/Parca.Server.Cli/bin/Release/net10.0/parca.dll" \
      dotnet "$root/bench/Parca.LoadGen/bin/Release/net10.0/Parca.LoadGen.dll" ingest-process 4 20 8 10 | tee -a "$out/ingest.txt"
  done
done
echo "end: $(date -u +%FT%TZ) $(uptime)" | tee -a "$out/load.txt"
