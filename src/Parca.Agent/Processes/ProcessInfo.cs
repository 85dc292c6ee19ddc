namespace Parca.Agent.Processes;

/// <summary>What the agent learnt about a process from /proc, captured when its first sample of a window arrived.</summary>
internal sealed class ProcessInfo
{
    public required int Pid { get; init; }

    /// <summary>Start time in clock ticks since boot (field 22 of /proc/PID/stat): tells a reused PID apart.</summary>
    public required ulong StartTime { get; init; }

    public required string Comm { get; init; }

    public string Cmdline { get; init; } = "";

    public int Ppid { get; init; }

    /// <summary>The main cgroup path (the cgroup v2 "0::" line, else the first line).</summary>
    public string Cgroup { get; init; } = "";

    public string ExecutablePath { get; init; } = "";

    public ObjectFile? Executable { get; init; }

    /// <summary>The mapped files kept open for this process while the agent knows it (released when it is forgotten).</summary>
    public FileHolds Holds { get; init; } = new();

    public ContainerId? Container { get; init; }

    public int NamespacePid { get; init; }

    /// <summary>Real, effective, saved and filesystem uid (/proc/PID/status): a perf map must be owned by one of them or root.</summary>
    public uint[] Uids { get; init; } = [];

    /// <summary>Executable mappings sorted by start; refreshed at window end while the process lives.</summary>
    public List<MemoryMapping> Mappings { get; set; } = [];

    /// <summary>True once /proc/PID vanished: the captured data is all there will be.</summary>
    public bool Exited { get; set; }

    /// <summary>Labels of the last window's profile (for the status page).</summary>
    public IReadOnlyDictionary<string, string>? LastLabels { get; set; }
}

/// <summary>A container the process runs in, from its cgroup path.</summary>
internal sealed record ContainerId(string Runtime, string Id);
