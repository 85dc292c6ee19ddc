using System.Globalization;
using System.Text.RegularExpressions;

namespace Parca.Agent.Processes;

/// <summary>Reads the /proc files the agent needs; every reader returns null when the process is gone.</summary>
internal static partial class ProcFs
{
    /// <summary>Reads one of the agent's own /proc files (not a process's: those go through <see cref="ProcessFiles"/>); null when the process exited (ENOENT/ESRCH) or the file cannot be read.</summary>
    public static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>comm, ppid and start time from /proc/PID/stat.</summary>
    public static (string Comm, int Ppid, ulong StartTime)? ReadStat(ProcessFiles files, int pid) =>
        files.ReadProcText(pid, "stat", files.Limits.SmallProcFileMaxBytes) is { } stat ? ParseStat(stat) : null;

    /// <summary>True while <paramref name="process"/> runs: its PID exists and names the same process (start time).</summary>
    public static bool IsRunning(ProcessFiles files, ProcessInfo process) =>
        ReadStat(files, process.Pid) is { } stat && stat.StartTime == process.StartTime;

    /// <summary>The environment the process started with (/proc/PID/environ, NAME=value entries); empty when unreadable.</summary>
    public static string[] ReadEnvironment(ProcessFiles files, int pid) =>
        files.ReadProcText(pid, "environ", files.Limits.MapsMaxBytes)?.Split('\0', StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Parses /proc/PID/stat (comm may contain spaces and parentheses: split at the last ')'); null when malformed.</summary>
    public static (string Comm, int Ppid, ulong StartTime)? ParseStat(string stat)
    {
        var open = stat.IndexOf('(', StringComparison.Ordinal);
        var close = stat.LastIndexOf(')');
        if (open < 0 || close < open || close + 2 > stat.Length)
        {
            return null;
        }

        var comm = stat[(open + 1)..close];
        var rest = stat[(close + 2)..].Split(' ');
        // rest[0] = state (field 3), so field N is rest[N - 3].
        if (rest.Length < 20
            || !int.TryParse(rest[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ppid)
            || !ulong.TryParse(rest[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return null;
        }

        return (comm, ppid, start);
    }

    /// <summary>The innermost namespace PID (last NSpid field) and the real, effective, saved and filesystem uids from /proc/PID/status.</summary>
    public static (int NamespacePid, uint[] Uids) ParseStatus(string status, int pid)
    {
        var nsPid = pid;
        uint[] uids = [];
        foreach (var raw in status.Split('\n'))
        {
            var line = raw.AsSpan();
            if (line.StartsWith("NSpid:"))
            {
                var fields = line[6..].Trim().ToString().Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 0 && int.TryParse(fields[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
                {
                    nsPid = n;
                }
            }
            else if (line.StartsWith("Uid:"))
            {
                var fields = line[4..].Trim().ToString().Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
                var parsed = new List<uint>(4);
                foreach (var f in fields)
                {
                    if (uint.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
                    {
                        parsed.Add(uid);
                    }
                }

                uids = [.. parsed];
            }
        }

        return (nsPid, uids);
    }

    public static string ReadCmdline(ProcessFiles files, int pid) =>
        (files.ReadProcText(pid, "cmdline", files.Limits.SmallProcFileMaxBytes) ?? "").TrimEnd('\0').Replace('\0', ' ');

    public static string ReadCgroup(ProcessFiles files, int pid) =>
        ParseCgroup(files.ReadProcText(pid, "cgroup", files.Limits.SmallProcFileMaxBytes));

    /// <summary>The main cgroup path of /proc/PID/cgroup text: the v2 "0::" line, else the first line's path.</summary>
    public static string ParseCgroup(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            return ""; // found by the property test: a file of only newlines
        }

        var v2 = lines.FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal));
        var line = v2 ?? lines[0];
        var colon = line.IndexOf(':', line.IndexOf(':', StringComparison.Ordinal) + 1);
        return colon >= 0 ? line[(colon + 1)..] : line;
    }

    /// <summary>The container a cgroup path belongs to: docker, containerd (CRI) or LXC.</summary>
    public static ContainerId? ContainerFromCgroup(string cgroup)
    {
        var m = DockerPattern().Match(cgroup);
        if (m.Success)
        {
            return new ContainerId("docker", m.Groups[1].Value);
        }

        m = ContainerdPattern().Match(cgroup);
        if (m.Success)
        {
            return new ContainerId("containerd", m.Groups[1].Value);
        }

        m = LxcPattern().Match(cgroup);
        return m.Success ? new ContainerId("lxc", m.Groups[1].Value) : null;
    }

    public static string ReadExecutablePath(string procRoot, int pid)
    {
        try
        {
            return new FileInfo($"{procRoot}/{pid}/exe").LinkTarget ?? "";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    [GeneratedRegex(@"(?:/docker/|docker-)([0-9a-f]{64})(?:\.scope)?")]
    private static partial Regex DockerPattern();

    [GeneratedRegex(@"cri-containerd-([0-9a-f]{64})\.scope|/containerd/[^/]*/([0-9a-f]{64})")]
    private static partial Regex ContainerdPattern();

    [GeneratedRegex(@"(?:/lxc/|lxc\.payload\.)([^/]+)")]
    private static partial Regex LxcPattern();
}
