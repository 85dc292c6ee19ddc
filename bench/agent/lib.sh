# Shared by the agent benchmarks (source it after `cd` to the repository root; needs $work, a scratch directory).

# user + sys clock ticks of a process so far (/proc/PID/stat fields 14 and 15)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# agent_prog_id AGENT_PID: the id of that agent's own sampling program, found through its file descriptors (other
# agents on the machine load a program of the same name); waits up to 120 s for it to be loaded; empty if never.
agent_prog_id() {
  local id=""
  for _ in $(seq 120); do
    id=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ { print $2 }' | while read -r p; do
      bpftool prog show id "$p" 2>/dev/null | grep -q 'name parca_sample_cpu' && echo "$p"; done | head -1 || true)
    [ -n "$id" ] && break
    sleep 1
  done
  echo "$id"
}

# The managed-runtime tracees (issue 19), built into $work: .NET (tracees/dotnetchain), Java (tracees/javachain,
# OpenJDK at $JAVA_HOME) and Node (tracees/nodechain).
build_runtime_tracees() {
  mkdir -p "$work/dotnet" "$work/java"
  cp test/Parca.Agent.Tests/tracees/dotnetchain/* "$work/dotnet/"
  dotnet build "$work/dotnet/Tracee.csproj" -c Release -o "$work/dotnet/out" -nologo -v q >/dev/null
  "$JAVA_HOME/bin/javac" -d "$work/java" test/Parca.Agent.Tests/tracees/javachain/*.java
  cp test/Parca.Agent.Tests/tracees/nodechain/chain.js "$work/"
}

# start_runtime_tracee KIND SECONDS OUTPUT: one busy tracee of KIND (dotnet, java, node), no profiling flag or
# variable, in the background with its stdout in OUTPUT; $! is the tracee itself (the subshell execs it).
start_runtime_tracee() {
  case $1 in
    dotnet) exec env -u DOTNET_PerfMapEnabled dotnet "$work/dotnet/out/Tracee.dll" "$2" ;;
    java) cd "$work/java" && exec "$JAVA_HOME/bin/java" -cp . tracee.chain.Chain "$2" ;;
    node) exec node "$work/chain.js" "$2" ;;
  esac >"$3" &
}
