#!/usr/bin/env bash
# Adds up the TRX results of one `dotnet test` run and prints the closing line "N passed, N failed, N skipped",
# preceded by the name and the first 25 message lines of every failed test (CI shows only the end of the output).
set -euo pipefail
dir=${1:?results directory}
passed=0; failed=0; skipped=0
shopt -s nullglob
for f in "$dir"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -n1)
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  fl=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  t=$(sed -E 's/.* total="([0-9]+)".*/\1/' <<<"$counters")
  e=$(sed -E 's/.* executed="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p)); failed=$((failed + fl)); skipped=$((skipped + t - e))
  if [ "$fl" != "0" ]; then
    python3 - "$f" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") != "Failed":
        continue
    message = r.findtext("t:Output/t:ErrorInfo/t:Message", default="", namespaces=ns).strip()
    lines = message.splitlines() or [""]
    print(f"FAILED {r.get('testName')} ({r.get('duration')}): {lines[0][:300]}")
    # The next lines usually hold the evidence (the stacks a profile assertion saw); CI keeps only the end.
    for line in lines[1:25]:
        print(f"    {line[:200]}")
    if len(lines) > 25:
        print(f"    ... {len(lines) - 25} more lines")
PY
  fi
done
echo "dotnet: $passed passed, $failed failed, $skipped skipped"
