using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Xunit;
using Parca.Agent.Processes;

namespace Parca.Agent.Tests;

/// <summary>
/// Property and fuzz tests of the parsers of /proc files the agent reads on behalf of processes (maps, stat,
/// status, cgroup): arbitrary text and byte-mutated real files (corpus/) never throw, generated lines read back
/// exactly. Crashes found on the way are kept below as named regression tests.
/// </summary>
public sealed class ProcFileProperties
{
    private static readonly string s_corpus = Path.Combine(AppContext.BaseDirectory, "corpus");

    [Property(MaxTest = 500)]
    public void Any_text_is_parsed_without_throwing(string? text)
    {
        text ??= "";
        _ = MemoryMapping.ParseExecutable(text);
        _ = ProcFs.ParseStat(text);
        _ = ProcFs.ParseStatus(text, 1);
        _ = ProcFs.ParseCgroup(text);
        _ = ProcFs.ContainerFromCgroup(ProcFs.ParseCgroup(text));
    }

    [Property(MaxTest = 500)]
    public void Mutated_corpus_files_are_parsed_without_throwing(NonNegativeInt pick, int[]? positions, byte[]? values)
    {
        var files = Directory.GetFiles(s_corpus, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
        var path = files[pick.Get % files.Length];
        var bytes = File.ReadAllBytes(path);
        positions ??= [];
        values ??= [];
        for (var i = 0; i < Math.Min(positions.Length, values.Length) && bytes.Length > 0; i++)
        {
            bytes[(int)((uint)positions[i] % (uint)bytes.Length)] = values[i];
        }

        var text = Encoding.UTF8.GetString(bytes);
        switch (Path.GetFileName(Path.GetDirectoryName(path)))
        {
            case "maps":
                _ = MemoryMapping.ParseExecutable(text);
                break;
            case "stat":
                _ = ProcFs.ParseStat(text);
                break;
            case "status":
                _ = ProcFs.ParseStatus(text, 1);
                break;
            default:
                _ = ProcFs.ContainerFromCgroup(ProcFs.ParseCgroup(text));
                break;
        }
    }

    [Property(MaxTest = 300)]
    public bool Generated_maps_lines_read_back_exactly(ulong start, uint length, ulong offset, uint inode, byte major, byte minor, string? name)
    {
        var end = start + Math.Max(length, 1u);
        if (end <= start)
        {
            return true; // wraps around: not a mapping
        }

        var path = "/" + new string((name ?? "").Where(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or ' ').ToArray()).Trim();
        var line = $"{start:x}-{end:x} r-xp {offset:x8} {major:x2}:{minor:x2} {inode} {path}";
        var m = Assert.Single(MemoryMapping.ParseExecutable("7f00-7f01 rw-p 00000000 00:00 0\n" + line + "\n"));
        return m.Start == start && m.End == end && m.Offset == offset && m.Inode == inode && m.Device == $"{major:x2}:{minor:x2}" && m.Path == path.Trim();
    }

    [Property(MaxTest = 300)]
    public bool Stat_comm_ppid_and_start_time_read_back_whatever_the_comm(string? comm, PositiveInt ppid, ulong startTime)
    {
        // A process names itself (prctl PR_SET_NAME): any bytes but NUL, parentheses and spaces included.
        comm = (comm ?? "").Replace("\0", "", StringComparison.Ordinal);
        var fields = Enumerable.Range(4, 49).Select(i => i switch { 4 => ppid.Get.ToString(CultureInfo.InvariantCulture), 22 => startTime.ToString(CultureInfo.InvariantCulture), _ => "0" });
        var stat = $"4242 ({comm}) S {string.Join(' ', fields)}\n";
        return ProcFs.ParseStat(stat) is { } parsed && parsed.Comm == comm && parsed.Ppid == ppid.Get && parsed.StartTime == startTime;
    }

    [Property(MaxTest = 300)]
    public bool Status_namespace_pid_and_uids_read_back(PositiveInt hostPid, PositiveInt innerPid, uint real, uint effective)
    {
        var status = $"Name:\tx\nUid:\t{real}\t{effective}\t{real}\t{effective}\nNSpid:\t{hostPid.Get}\t{innerPid.Get}\n";
        var (nsPid, uids) = ProcFs.ParseStatus(status, hostPid.Get);
        return nsPid == innerPid.Get && uids.SequenceEqual([real, effective, real, effective]);
    }

    [Fact]
    public void Corpus_files_parse_to_what_they_hold()
    {
        var cat = MemoryMapping.ParseExecutable(File.ReadAllText(Path.Combine(s_corpus, "maps", "cat.txt")));
        Assert.Contains(cat, m => m.Kind == MappingKind.File && m.Path.Contains("libc.so", StringComparison.Ordinal));
        var edge = MemoryMapping.ParseExecutable(File.ReadAllText(Path.Combine(s_corpus, "maps", "edge.txt")));
        Assert.Equal([MappingKind.File, MappingKind.Jit, MappingKind.Jit, MappingKind.Special, MappingKind.Special], edge.Select(m => m.Kind));
        Assert.Equal("/opt/my app/with spaces", edge[0].Path);
        Assert.Equal("we ird) (comm)", ProcFs.ParseStat(File.ReadAllText(Path.Combine(s_corpus, "stat", "parens.txt")))?.Comm);
        var (nsPid, uids) = ProcFs.ParseStatus(File.ReadAllText(Path.Combine(s_corpus, "status", "container.txt")), 4242);
        Assert.Equal(7, nsPid);
        Assert.Equal([65534u, 65534u, 65534u, 65534u], uids);
        Assert.Equal(new ContainerId("docker", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), ProcFs.ContainerFromCgroup(ProcFs.ParseCgroup(File.ReadAllText(Path.Combine(s_corpus, "cgroup", "docker-v2.txt")))));
        Assert.Equal("/", ProcFs.ParseCgroup(File.ReadAllText(Path.Combine(s_corpus, "cgroup", "v1-mixed.txt"))));
    }

    // Regression tests: inputs that crashed the parsers before this change.

    [Fact]
    public void Cgroup_file_of_only_newlines_is_no_cgroup() =>
        Assert.Equal("", ProcFs.ParseCgroup("\n\n")); // was IndexOutOfRangeException

    [Fact]
    public void Stat_that_ends_at_the_comm_is_malformed_not_a_crash() =>
        Assert.Null(ProcFs.ParseStat("1 (x)")); // was ArgumentOutOfRangeException

    [Fact]
    public void Stat_with_a_non_numeric_ppid_is_malformed_not_a_crash() =>
        Assert.Null(ProcFs.ParseStat("1 (x) S x " + string.Join(' ', Enumerable.Repeat("0", 40)))); // was FormatException
}
