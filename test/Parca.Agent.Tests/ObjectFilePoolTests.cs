using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Parca.Agent.Processes;

namespace Parca.Agent.Tests;

/// <summary>
/// The object-file pool's policy with real files and real processes: files of a process the agent knows stay open
/// whatever the pool size, so a window named after the process exited still has its deleted binary; files nobody
/// holds are closed least recently used first; a hard cap bounds the descriptors.
/// </summary>
public sealed class ObjectFilePoolTests
{
    [Fact]
    public async Task Deleted_binary_of_an_exited_process_stays_named_while_other_files_churn_the_pool_until_the_process_is_forgotten()
    {
        var built = LifecycleTracees.Build(8);
        var copy = Path.Combine(Directory.CreateTempSubdirectory("parca-pool-").FullName, "pooldeleted");
        File.Copy(built, copy);
        var files = new ProcessFiles("/proc", new ProcessFileLimits(), NullLogger.Instance);
        var pool = new ObjectFileCache(2);
        await using var table = new ProcessTable(files, pool, NullLogger.Instance);
        using var tracee = LifecycleTracees.Start(copy, "w");
        var info = await CaptureAfterExecAsync(table, tracee.Id, copy);
        File.Delete(copy);
        var exe = info.Mappings.First(m => m.Path.StartsWith(copy, StringComparison.Ordinal));
        Assert.True(info.Holds.Count >= 2, $"the capture held {info.Holds.Count} files; the binary and libc at least");

        LifecycleTracees.Continue(tracee);
        await tracee.WaitForExitAsync();
        var churned = Churn(pool, files);
        Assert.True(pool.Evictions > 0, $"opening {churned} other files evicted nothing from a pool of 2 idle files");

        // Only the pool can give the file now: the process is gone and so is the path.
        var file = pool.Get(tracee.Id, exe, files, info.Holds);
        Assert.NotNull(file?.Elf);
        Assert.Equal(LifecycleTracees.BuildId(built), file.BuildId);
        Assert.True(file.Symbols.TryLookup(SymbolAddress(built, "burn"), out var name, out _));
        Assert.Equal("burn", name);
        Assert.Equal(0, pool.HeldEvictions);

        // Unseen for two windows: forgotten, its files idle, and the churn closes them.
        table.EndWindow([]);
        table.EndWindow([]);
        Churn(pool, files);
        Assert.Null(pool.TryGetCached(exe));
        Assert.Null(pool.Get(tracee.Id, exe, files));
    }

    [Fact]
    public void Held_files_past_the_open_file_cap_are_closed_least_recently_used_first_and_counted()
    {
        var files = new ProcessFiles("/proc", new ProcessFileLimits(), NullLogger.Instance);
        var pool = new ObjectFileCache(100, maxOpen: 3);
        var holds = new FileHolds();
        var own = OwnFileMappings().Take(5).ToList();
        Assert.Equal(5, own.Count);
        foreach (var m in own)
        {
            Assert.NotNull(pool.Get(Environment.ProcessId, m, files, holds));
        }

        Assert.Equal(3, pool.Count);
        Assert.Equal(3, pool.Held);
        Assert.Equal(2, pool.HeldEvictions);
        Assert.Null(pool.TryGetCached(own[0]));
        Assert.Null(pool.TryGetCached(own[1]));
        Assert.NotNull(pool.TryGetCached(own[4]));

        pool.Release(holds);
        Assert.Equal(0, pool.Held);
        Assert.Equal(3, pool.Count); // idle now, within the pool size
        Assert.NotNull(pool.Get(Environment.ProcessId, own[0], files, holds)); // released holds hold nothing more
        Assert.Equal(0, pool.Held);
    }

    [Fact]
    public void A_file_two_processes_hold_stays_held_until_both_are_released()
    {
        var files = new ProcessFiles("/proc", new ProcessFileLimits(), NullLogger.Instance);
        var pool = new ObjectFileCache(1);
        var mapping = OwnFileMappings().First();
        var first = new FileHolds();
        var second = new FileHolds();
        var file = pool.Get(Environment.ProcessId, mapping, files, first);
        Assert.Same(file, pool.Get(Environment.ProcessId, mapping, files, second));
        pool.Release(first);
        Assert.Equal(1, pool.Held);
        Churn(pool, files);
        Assert.Same(file, pool.TryGetCached(mapping));
        pool.Release(second);
        Assert.Equal(0, pool.Held);
        Churn(pool, files);
        Assert.Null(pool.TryGetCached(mapping));
    }

    /// <summary>Opens every file this test process maps, holding none: what other processes' captures do to the pool.</summary>
    private static int Churn(ObjectFileCache pool, ProcessFiles files)
    {
        var n = 0;
        foreach (var m in OwnFileMappings())
        {
            n += pool.Get(Environment.ProcessId, m, files) is null ? 0 : 1;
        }

        return n;
    }

    private static IEnumerable<MemoryMapping> OwnFileMappings() =>
        MemoryMapping.ParseExecutable(File.ReadAllText("/proc/self/maps"))
            .Where(m => m.Kind == MappingKind.File)
            .DistinctBy(m => (m.Device, m.Inode, m.Path));

    private static async Task<ProcessInfo> CaptureAfterExecAsync(ProcessTable table, int pid, string path)
    {
        for (var i = 0; i < 100; i++)
        {
            if ((await File.ReadAllTextAsync($"/proc/{pid}/maps")).Contains(path, StringComparison.Ordinal))
            {
                return await table.GetAsync(pid) ?? throw new InvalidOperationException($"pid {pid} could not be captured");
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException($"pid {pid} never mapped {path}");
    }

    /// <summary>The link-time address of <paramref name="symbol"/> (nm), which is what the symbol table is keyed by.</summary>
    private static ulong SymbolAddress(string binary, string symbol) =>
        ulong.Parse(Tracees.Run("nm", binary).Split('\n').Select(l => l.Split(' ')).First(f => f.Length == 3 && f[2] == symbol)[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
