namespace Parca.Agent.Processes;

/// <summary>Caps for the files the agent reads on behalf of a process (docs/agent.md lists them).</summary>
internal sealed record ProcessFileLimits
{
    /// <summary>A perf map larger than this is refused (a large .NET service writes a few MB).</summary>
    public long PerfMapMaxBytes { get; init; } = 64L << 20;

    /// <summary>/proc/PID/maps larger than this is refused (65,530 mappings of typical paths is about 8 MB).</summary>
    public long MapsMaxBytes { get; init; } = 32L << 20;

    /// <summary>stat, status, comm, cmdline, cgroup.</summary>
    public long SmallProcFileMaxBytes { get; init; } = 256L << 10;

    /// <summary>An ELF symbol table (.symtab/.dynsym plus its strings) larger than this is not loaded.</summary>
    public long ElfSymbolsMaxBytes { get; init; } = 512L << 20;

    /// <summary>Longest a single file may take to read; beyond it the file counts as hostile or broken.</summary>
    public TimeSpan ReadBudget { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long a window waits for one process's metadata and symbol work before it builds that process's profile
    /// without them; the work goes on in the background (at most one job per process) and serves the next window.
    /// </summary>
    public TimeSpan WindowWait { get; init; } = TimeSpan.FromSeconds(2);
}
