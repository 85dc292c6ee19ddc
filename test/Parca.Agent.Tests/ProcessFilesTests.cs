using System.Globalization;
using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Symbols.IO;
using Parca.Symbols.Jit;

namespace Parca.Agent.Tests;

/// <summary>
/// The safe-open policy on real files in a /proc-shaped directory (PID/root/tmp/perf-PID.map, PID/maps): what is
/// refused, why, what is logged and counted. Needs root (chown); the hostile-process test covers the real /proc.
/// </summary>
public sealed class ProcessFilesTests : IDisposable
{
    private const int Pid = 4242;
    private const uint Nobody = 65534;
    private readonly string _proc = Directory.CreateTempSubdirectory("parca-agent-procfs-").FullName;
    private readonly RecordingLoggerProvider _logs = new();

    public ProcessFilesTests() => Directory.CreateDirectory(Path.Combine(_proc, $"{Pid}/root/tmp"));

    private string PerfMapPath => Path.Combine(_proc, $"{Pid}/root/tmp/perf-{Pid}.map");

    [Fact]
    public void A_perf_map_owned_by_the_process_user_is_parsed()
    {
        File.WriteAllText(PerfMapPath, "7f0000001000 40 void [Tracee] Program::Burn()\n7f0000001040 20 Main\n");
        Chown(PerfMapPath, Nobody);
        var files = Files();
        var map = files.ReadPerfMap(Process(), PerfMap.Parse);
        Assert.NotNull(map);
        Assert.True(map.TryLookup(0x7f0000001050, out var name, out _));
        Assert.Equal("Main", name);
        Assert.Empty(_logs.Entries);
    }

    [Fact]
    public void A_perf_map_owned_by_another_user_is_refused_and_named_in_one_log_line()
    {
        File.WriteAllText(PerfMapPath, "7f0000001000 40 Burn\n");
        Chown(PerfMapPath, 1234);
        var files = Files();
        Assert.Null(files.ReadPerfMap(Process(), PerfMap.Parse));
        Assert.Null(files.ReadPerfMap(Process(), PerfMap.Parse));
        Assert.Equal(2, files.Refused(FileRefusal.Owner));
        var line = Assert.Single(_logs.Entries);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Equal($"process {Pid} (hostile): not reading {_proc}/{Pid}/root/tmp/perf-{Pid}.map: it is owned by uid 1234, neither the process's user nor root; this process's frames from it stay unsymbolized (logged once per process)", line.Message);
    }

    [Fact]
    public void A_perf_map_symlink_is_refused_without_opening_its_target()
    {
        var secret = Path.Combine(_proc, "secret");
        File.WriteAllText(secret, "7f0000001000 40 Secret\n");
        File.CreateSymbolicLink(PerfMapPath, secret);
        var files = Files();
        Assert.Null(files.ReadPerfMap(Process(), PerfMap.Parse));
        Assert.Equal(1, files.Refused(FileRefusal.Symlink));
        Assert.Contains("it is a symlink", Assert.Single(_logs.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symlinked_tmp_inside_the_process_root_is_refused()
    {
        Directory.Delete(Path.Combine(_proc, $"{Pid}/root/tmp"));
        var elsewhere = Directory.CreateDirectory(Path.Combine(_proc, "elsewhere")).FullName;
        File.WriteAllText(Path.Combine(elsewhere, $"perf-{Pid}.map"), "7f0000001000 40 Secret\n");
        Directory.CreateSymbolicLink(Path.Combine(_proc, $"{Pid}/root/tmp"), elsewhere);
        var files = Files();
        Assert.Null(files.ReadPerfMap(Process(), PerfMap.Parse));
        Assert.Equal(1, files.Refused(FileRefusal.Symlink));
    }

    [Fact]
    public void A_fifo_perf_map_is_refused_at_once_by_its_type()
    {
        Tracees.Run("mkfifo", PerfMapPath);
        var files = Files();
        Assert.Null(files.ReadPerfMap(Process(), PerfMap.Parse)); // a blocking open would wait here for a writer forever
        Assert.Equal(1, files.Refused(FileRefusal.NotRegular));
        Assert.Contains("it is a fifo, not a regular file", Assert.Single(_logs.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_perf_map_over_the_cap_is_refused_by_its_size_before_reading()
    {
        using (var f = File.Create(PerfMapPath))
        {
            f.SetLength(4096);
        }

        var files = Files(new ProcessFileLimits { PerfMapMaxBytes = 4095 });
        Assert.Null(files.ReadPerfMap(Process(), PerfMap.Parse));
        Assert.Equal(1, files.Refused(FileRefusal.TooLarge));
        Assert.Contains("it is 4096 bytes, over the cap", Assert.Single(_logs.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_proc_file_longer_than_its_cap_is_refused_while_reading()
    {
        // procfs files report size 0, so the cap is enforced on the bytes actually read.
        File.WriteAllText(Path.Combine(_proc, $"{Pid}/maps"), new string('x', 5000));
        var files = Files();
        Assert.Null(files.ReadProcText(Pid, "maps", cap: 4999));
        Assert.Equal(1, files.Refused(FileRefusal.TooLarge));
        Assert.Equal(new string('x', 5000), files.ReadProcText(Pid, "maps", cap: 5000));
        Assert.Contains("larger than the 4999 byte cap", Assert.Single(_logs.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_real_proc_files_of_this_process_read_through_the_policy()
    {
        var files = new ProcessFiles("/proc", new ProcessFileLimits(), _logs.CreateLogger("test"));
        var self = Environment.ProcessId;
        var status = files.ReadProcText(self, "status", 1 << 20);
        Assert.NotNull(status);
        var (nsPid, uids) = ProcFs.ParseStatus(status, self);
        Assert.Equal(self, nsPid);
        Assert.Equal([0u, 0u, 0u, 0u], uids);
        var maps = MemoryMapping.ParseExecutable(files.ReadProcText(self, "maps", 32 << 20)!);
        var libc = maps.First(m => m.Path.Contains("libc.so", StringComparison.Ordinal));
        using var handle = files.OpenMappedFile(self, libc);
        Assert.NotNull(handle);
        Assert.Empty(_logs.Entries);
    }

    [Fact]
    public void A_host_path_fallback_that_is_not_the_mapped_file_is_refused()
    {
        // The process is gone (no map_files, no root): the path from its maps is opened on the host, and accepted
        // only when device and inode match what the maps said.
        var other = Path.Combine(_proc, "other.so");
        File.WriteAllText(other, "not the mapped file");
        var files = Files();
        var mapping = new MemoryMapping(0x1000, 0x2000, 0, true, "fd:01", 1, other, MappingKind.File);
        Assert.Null(files.OpenMappedFile(9_999_999, mapping));
        Assert.Equal(1, files.Refused(FileRefusal.NotTheMappedFile));

        var inode = ulong.Parse(Tracees.Run("stat", $"-c %i {other}").Trim(), CultureInfo.InvariantCulture);
        var dev = Tracees.Run("stat", $"-c %Hd:%Ld {other}").Trim().Split(':');
        var device = $"{int.Parse(dev[0], CultureInfo.InvariantCulture):x2}:{int.Parse(dev[1], CultureInfo.InvariantCulture):x2}";
        using var same = files.OpenMappedFile(9_999_999, mapping with { Device = device, Inode = inode });
        Assert.NotNull(same);
    }

    public void Dispose()
    {
        Directory.Delete(_proc, recursive: true);
        GC.SuppressFinalize(this);
    }

    private ProcessFiles Files(ProcessFileLimits? limits = null) =>
        new(_proc, limits ?? new ProcessFileLimits(), _logs.CreateLogger("parca.agent.files"));

    private static ProcessInfo Process() =>
        new() { Pid = Pid, StartTime = 1, Comm = "hostile", NamespacePid = Pid, Uids = [Nobody, Nobody, Nobody, Nobody] };

    private static void Chown(string path, uint uid) =>
        Tracees.Run("chown", $"{uid.ToString(CultureInfo.InvariantCulture)} {path}");
}
