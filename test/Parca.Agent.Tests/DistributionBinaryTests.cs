using System.Diagnostics;

namespace Parca.Agent.Tests;

/// <summary>
/// Debian's own python3, perl and xz (built without frame pointers) running CPU-bound jobs: the agent's table
/// unwinder reaches the process entry, and perf's DWARF unwinder (the reference) finds the same hot functions
/// (native frames only: the interpreter walkers are off here).
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class DistributionBinaryTests
{
    public static TheoryData<string, string, string[]> Jobs => new()
    {
        { "python3", "/usr/bin/python3", ["-c", "import time\nt = time.time()\nwhile time.time() - t < 8:\n    sum(i * i for i in range(10000))"] },
        { "perl", "/usr/bin/perl", ["-e", "my $t = time; while (time - $t < 8) { my $x = 0; $x += $_ * $_ for 1 .. 10000; }"] },
        { "xz", "/usr/bin/xz", ["-9e", "-T1", "-c", InputFile()] },
    };

    [Theory]
    [MemberData(nameof(Jobs))]
    public async Task Cpu_bound_job_reaches_the_process_entry_and_matches_perf_dwarf_hot_functions(string comm, string path, string[] args)
    {
        // The native unwinder against perf's: with the interpreter walkers on, the interpreter loop frames perf
        // names (_PyEval_EvalFrameDefault) are replaced by the script's functions (the Interpreters tests check those).
        await using var run = await ServerReadback.StartAsync(comm, configure: o =>
        {
            o.PythonUnwindingDisable = true;
            o.PerlUnwindingDisable = true;
            o.RubyUnwindingDisable = true;
            o.PhpUnwindingDisable = true;
        });
        using var tracee = Tracees.Start(path, args);
        var drain = tracee.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        var from = await run.WaitForTablesAsync(tracee.Id);
        var perfData = Path.Combine(Path.GetTempPath(), $"perf-{comm}-{tracee.Id}.data");
        // perf stops and writes its data on SIGINT, like Ctrl-C.
        using (var perf = Process.Start(new ProcessStartInfo("perf", $"record -q -F 99 --call-graph dwarf -p {tracee.Id} -o {perfData}") { UseShellExecute = false })!)
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            Tracees.Run("kill", $"-INT {perf.Id}");
            await perf.WaitForExitAsync();
        }
        if (!tracee.WaitForExit(TimeSpan.FromSeconds(3)))
        {
            tracee.Kill(); // xz would compress for minutes
        }

        await tracee.WaitForExitAsync();
        await drain;
        var (traces, file) = await run.StopAndQueryAsync(tracee.Id, from);

        var total = traces.Sum(t => t.Seconds);
        // The entry is _start; in a stripped executable (xz) it has no name, but it is always __libc_start_main's caller.
        var complete = traces.Select(t => (t.Seconds, Frames: UnwindEndToEndTests.LibcStartAsSymbolTable(t.Frames)))
            .Where(t => t.Frames[^1] == "_start" || (t.Frames.Length >= 2 && t.Frames[^2] == "__libc_start_main")).Sum(t => t.Seconds);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(complete >= total * 0.9, $"{complete:F3}s of {total:F3}s reach _start:\n{Tracees.Run("go", "tool pprof -traces " + file)}");

        // perf's hottest leaf function (or, where it names none, the file its code is in) must be among ours.
        var perfLeaves = PerfLeaves(perfData);
        var ours = traces.GroupBy(t => LeafUserFrame(t.Frames)).OrderByDescending(g => g.Sum(t => t.Seconds)).Select(g => g.Key).Take(8).ToList();
        var perfTop = perfLeaves.OrderByDescending(kv => kv.Value).First().Key;
        Assert.True(ours.Contains(perfTop), $"perf's hottest function {perfTop} is not among ours: {string.Join(", ", ours)}");
        File.Delete(perfData);
    }

    /// <summary>The first frame below any kernel frames (kernel entry points start with asm_ or entry_).</summary>
    private static string LeafUserFrame(string[] frames)
    {
        var entry = Array.FindLastIndex(frames, f => f.StartsWith("asm_", StringComparison.Ordinal) || f.StartsWith("entry_SYSCALL", StringComparison.Ordinal));
        return entry >= 0 && entry + 1 < frames.Length ? frames[entry + 1] : frames[0];
    }

    /// <summary>Leaf user-space symbol per sample of a perf.data file, counted.</summary>
    private static Dictionary<string, int> PerfLeaves(string perfData)
    {
        var text = Tracees.Run("perf", $"script -i {perfData} -F ip,sym,dso --no-demangle");
        var counts = new Dictionary<string, int>();
        var takeNext = true;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                takeNext = true;
                continue;
            }

            if (!takeNext || line.Contains("[kernel.kallsyms]", StringComparison.Ordinal))
            {
                continue;
            }

            // "ip symbol (dso)"; a function perf cannot name either is written like ours: [file name of the dso]
            var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            var symbol = parts.Length >= 2 ? parts[1].Split('+')[0] : "[unknown]";
            if (symbol == "[unknown]" && parts.Length == 3)
            {
                symbol = "[" + Path.GetFileName(parts[2].Trim('(', ')')) + "]";
            }
            counts[symbol] = counts.GetValueOrDefault(symbol) + 1;
            takeNext = false;
        }

        return counts;
    }

    private static string InputFile()
    {
        // Compressible but not trivial: this machine's own libraries, a few tens of MB.
        var path = Path.Combine(Path.GetTempPath(), "parca-unwind-xz-input");
        if (!File.Exists(path))
        {
            using var output = File.Create(path);
            foreach (var lib in Directory.EnumerateFiles("/usr/lib/x86_64-linux-gnu", "*.so*").Take(200))
            {
                using var input = File.OpenRead(lib);
                input.CopyTo(output);
                if (output.Length > 64 << 20)
                {
                    break;
                }
            }
        }

        return path;
    }
}
