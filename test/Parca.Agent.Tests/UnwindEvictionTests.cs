using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using Parca.Agent.Processes;
using Parca.Agent.Profiling;
using Parca.Agent.Unwinding;

namespace Parca.Agent.Tests;

/// <summary>
/// Least-recently-sampled eviction of unwind tables, on real BPF maps of the real kernel (created here, the sizes
/// of bpf/unwind.h) with the tables of two real processes; the sampler is left out so that no other process on
/// the machine competes for the few rows the test allows.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed partial class UnwindEvictionTests
{
    [Fact]
    public async Task Full_row_memory_evicts_the_table_of_the_process_idle_longest_and_gives_it_back_when_it_runs_again()
    {
        var idleBinary = LifecycleTracees.Build(11);
        var busyBinary = LifecycleTracees.Build(12);
        using var idle = LifecycleTracees.Start(idleBinary, "s60");
        using var busy = LifecycleTracees.Start(busyBinary, "s60");
        try
        {
            var files = new ProcessFiles("/proc", new ProcessFileLimits(), NullLogger.Instance);
            var idleInfo = await CaptureAsync(files, idle.Id, idleBinary);
            var busyInfo = await CaptureAsync(files, busy.Id, busyBinary);

            // Room for the shared libraries and one of the two executables' tables, not both.
            var shared = RowsOf(idleInfo, except: idleBinary);
            var idleRows = RowsOf(idleBinary);
            var busyRows = RowsOf(busyBinary);
            Assert.True(idleRows >= busyRows, "both executables come from one source and should need the same rows");
            var capacity = (uint)(shared + idleRows + busyRows - 1);
            using var maps = KernelMaps.Create(capacity);
            var manager = new UnwindTableManager(maps.Maps, new UnwindTableCache("", 0), new ObjectFileCache(100), files, NullLogger.Instance);

            manager.AddProcess(idleInfo);
            Assert.True(manager.HasTable(LifecycleTracees.BuildId(idleBinary)));
            manager.Touch(Sampled());
            manager.Touch(Sampled()); // two windows without a sample of the idle process

            manager.AddProcess(busyInfo);
            Assert.True(manager.HasTable(LifecycleTracees.BuildId(busyBinary)), "the busy process's table was not loaded");
            Assert.False(manager.HasTable(LifecycleTracees.BuildId(idleBinary)), "the idle process's table was not evicted");
            Assert.Equal(1, manager.TablesEvicted);
            Assert.Equal(0, manager.TablesNotLoaded);
            var idleExe = idleInfo.Mappings.First(m => m.Path == idleBinary && m.Executable);
            var idleMappings = maps.Maps.ReadProcess(idle.Id)!;
            Assert.Equal(UnwindMaps.NoTable, idleMappings.Single(m => m.Start == idleExe.Start).TableId);
            Assert.DoesNotContain(idleMappings, m => m.Start != idleExe.Start && m.TableId == UnwindMaps.NoTable); // libc and ld.so keep theirs

            // The idle process runs again while the busy one is sampled too: the busy table is recent, so nothing is evicted.
            manager.Touch(Sampled(busy.Id));
            manager.Touch(Sampled(idle.Id, busy.Id));
            await WaitAsync(() => manager.TablesNotLoaded == 1);
            Assert.Equal(1, manager.TablesEvicted);
            Assert.False(manager.HasTable(LifecycleTracees.BuildId(idleBinary)));

            // Once the busy process is gone its rows are free and the idle process gets its table back at its next sample.
            manager.RemoveProcess(busy.Id);
            manager.Touch(Sampled(idle.Id));
            await WaitAsync(() => manager.HasTable(LifecycleTracees.BuildId(idleBinary)));
            Assert.NotEqual(UnwindMaps.NoTable, maps.Maps.ReadProcess(idle.Id)!.Single(m => m.Start == idleExe.Start).TableId);
            Assert.True(manager.RowsUsed <= capacity);
        }
        finally
        {
            idle.Kill();
            busy.Kill();
        }
    }

    private static async Task<ProcessInfo> CaptureAsync(ProcessFiles files, int pid, string binary)
    {
        for (var i = 0; i < 100; i++)
        {
            var maps = await File.ReadAllTextAsync($"/proc/{pid}/maps");
            if (maps.Contains(binary, StringComparison.Ordinal) && maps.Contains("libc.so", StringComparison.Ordinal))
            {
                return new ProcessInfo
                {
                    Pid = pid,
                    StartTime = ProcFs.ReadStat(files, pid)!.Value.StartTime,
                    Comm = Path.GetFileName(binary),
                    Mappings = MemoryMapping.ParseExecutable(maps),
                };
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"pid {pid} never mapped {binary} and libc");
    }

    private static int RowsOf(ProcessInfo info, string except)
    {
        var total = 0;
        foreach (var path in info.Mappings.Where(m => m.Kind == MappingKind.File && m.Path != except).Select(m => m.Path).Distinct())
        {
            total += RowsOf(path);
        }

        return total;
    }

    private static int RowsOf(string path) => Parca.Symbols.Cfi.UnwindTableBuilder.Build(path, out _).Length;

    /// <summary>One window's samples: one sample of each pid given.</summary>
    private static StackTable Sampled(params int[] pids)
    {
        var table = new StackTable();
        foreach (var pid in pids)
        {
            table.Add(pid, pid, 0, 0, [], [0x1000UL]);
        }

        return table;
    }

    /// <summary>Reloads run on a background task; waits for one (bounded; no timing is asserted).</summary>
    private static async Task WaitAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the reload after the process was sampled again did not happen");
    }

    /// <summary>The unwinder's four maps created directly with bpf_map_create (no program needed to test their contents).</summary>
    private sealed partial class KernelMaps : IDisposable
    {
        private readonly int[] _fds;

        private KernelMaps(int[] fds, UnwindMaps maps)
        {
            _fds = fds;
            Maps = maps;
        }

        public UnwindMaps Maps { get; }

        public static KernelMaps Create(uint rows)
        {
            const int hash = 1, array = 2;
            int[] fds =
            [
                Create(array, "t_rows", 4, Parca.Symbols.Cfi.UnwindRow.Size, rows),
                Create(array, "t_tables", 4, 8, 64),
                Create(hash, "t_procs", 4, UnwindMaps.ProcessBytes, 64),
                Create(array, "t_config", 4, 8, 1),
            ];
            return new KernelMaps(fds, new UnwindMaps(fds[0], fds[1], fds[2], fds[3], rows, 64, 64));
        }

        public void Dispose()
        {
            foreach (var fd in _fds)
            {
                _ = Close(fd);
            }
        }

        private static int Create(int type, string name, int keySize, int valueSize, uint entries)
        {
            var fd = BpfMapCreate(type, name, (uint)keySize, (uint)valueSize, entries, 0);
            Assert.True(fd >= 0, $"bpf_map_create({name}) failed: errno {Marshal.GetLastPInvokeError()} (the kernel tests run as root)");
            return fd;
        }

        [LibraryImport("libbpf.so.1", EntryPoint = "bpf_map_create", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int BpfMapCreate(int type, string name, uint keySize, uint valueSize, uint maxEntries, nint options);

        [LibraryImport("libc", EntryPoint = "close")]
        private static partial int Close(int fd);
    }
}
