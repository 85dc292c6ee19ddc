using System.Globalization;
using Parca.Agent.Processes;
using Parca.Relabel;

namespace Parca.Agent.Labels;

/// <summary>
/// Builds the label set of a (process, thread, CPU) group: node, comm, external labels and the __meta_* labels,
/// runs the user's relabel_configs, then drops every label starting with "__" (as Prometheus does). Thread and CPU
/// labels only split profiles when a relabel rule copies them into a visible label.
/// </summary>
internal sealed class LabelSetBuilder
{
    private readonly string _node;
    private readonly IReadOnlyDictionary<string, string> _external;
    private readonly Relabeler _relabeler;
    private readonly string _kernelRelease;
    private readonly string _kernelMachine;
    private readonly string _revision;

    public LabelSetBuilder(string node, IReadOnlyDictionary<string, string> external, Relabeler relabeler, string revision)
    {
        _node = node;
        _external = external;
        _relabeler = relabeler;
        _revision = revision;
        _kernelRelease = (ProcFs.TryRead("/proc/sys/kernel/osrelease") ?? "").Trim();
        _kernelMachine = System.Runtime.InteropServices.RuntimeInformation.OSArchitecture switch
        {
            System.Runtime.InteropServices.Architecture.X64 => "x86_64",
            System.Runtime.InteropServices.Architecture.Arm64 => "aarch64",
            var other => other.ToString().ToLowerInvariant(),
        };
    }

    /// <summary>The labels before relabeling (what the status page shows as "discovered labels").</summary>
    public Dictionary<string, string> Discover(ProcessInfo? process, int pid, int tid, string threadComm, int cpu)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in _external)
        {
            labels[k] = v;
        }

        labels[LabelNames.Node] = _node;
        labels[LabelNames.Comm] = process?.Comm ?? threadComm;
        labels[LabelNames.ProcessPid] = pid.ToString(CultureInfo.InvariantCulture);
        labels[LabelNames.ThreadId] = tid.ToString(CultureInfo.InvariantCulture);
        labels[LabelNames.ThreadComm] = threadComm;
        labels[LabelNames.Cpu] = cpu.ToString(CultureInfo.InvariantCulture);
        labels[LabelNames.KernelRelease] = _kernelRelease;
        labels[LabelNames.KernelMachine] = _kernelMachine;
        labels[LabelNames.AgentRevision] = _revision;
        if (process is null)
        {
            return labels;
        }

        labels[LabelNames.ProcessCmdline] = process.Cmdline;
        labels[LabelNames.ProcessCgroup] = process.Cgroup;
        labels[LabelNames.ProcessPpid] = process.Ppid.ToString(CultureInfo.InvariantCulture);
        if (process.ExecutablePath.Length > 0)
        {
            labels[LabelNames.ExecutableName] = Path.GetFileName(process.ExecutablePath);
            var exe = process.Executable;
            labels[LabelNames.ExecutableFileId] = FileId(process.ExecutablePath, exe?.BuildId);
            if (exe?.BuildId is { } buildId)
            {
                labels[LabelNames.ExecutableBuildId] = buildId;
            }

            if (exe?.Compiler is { } compiler)
            {
                labels[LabelNames.ExecutableCompiler] = compiler;
            }

            if (exe?.Elf is { } elf)
            {
                labels[LabelNames.ExecutableStatic] = elf.IsStatic ? "true" : "false";
                labels[LabelNames.ExecutableStripped] = elf.IsStripped ? "true" : "false";
            }
        }

        switch (process.Container)
        {
            case { Runtime: "docker" } c:
                labels[LabelNames.DockerContainerId] = c.Id;
                break;
            case { Runtime: "containerd" } c:
                labels[LabelNames.ContainerdContainerId] = c.Id;
                break;
            case { Runtime: "lxc" } c:
                labels[LabelNames.LxcContainerId] = c.Id;
                break;
        }

        return labels;
    }

    /// <summary>Relabels <paramref name="discovered"/> (a copy is changed); null when a rule dropped it.</summary>
    public SortedDictionary<string, string>? Finish(Dictionary<string, string> discovered)
    {
        var labels = new Dictionary<string, string>(discovered, StringComparer.Ordinal);
        if (!_relabeler.Process(labels))
        {
            return null;
        }

        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in labels)
        {
            if (!k.StartsWith("__", StringComparison.Ordinal) && v.Length > 0)
            {
                result[k] = v;
            }
        }

        return result;
    }

    /// <summary>A stable id of the executable: its build id hashed, or its path when it has none.</summary>
    private static string FileId(string path, string? buildId)
    {
        return Profiling.StackHash.HexId(buildId ?? path, 32);
    }

    /// <summary>The canonical text of a label set ({a="1", b="2"}), also its identity.</summary>
    public static string Format(IReadOnlyDictionary<string, string> labels) =>
        "{" + string.Join(", ", labels.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}=\"{kv.Value}\"")) + "}";
}
