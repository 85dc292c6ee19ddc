using System.Diagnostics;
using Parca.Symbols.Cfi;
using Parca.Symbols.Elf;

namespace Parca.LoadGen;

/// <summary>
/// `unwind-tables`: what the agent's unwind tables cost to build and hold. Per named library: .eh_frame (+
/// .debug_frame) bytes, build time (best of three, single thread), MB/s, rows and table bytes (12 per row, as the BPF
/// map holds them). Then the whole machine: every distinct executable file mapped by a running process (what the
/// agent would load into BPF), with the total rows and bytes.
/// </summary>
internal static class UnwindTableRun
{
    private static readonly string[] s_files =
    [
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/bin/python3.11",
        "/usr/bin/perl",
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/x86_64-linux-gnu/libclang-14.so.1",
        "/usr/lib/x86_64-linux-gnu/libLLVM-14.so.1",
        "/usr/lib/x86_64-linux-gnu/libLLVM-15.so.1",
    ];

    public static void Run()
    {
        Console.WriteLine("| file | CFI bytes | build (best of 3) | MB/s | rows | table bytes |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var path in s_files.Where(File.Exists))
        {
            var best = TimeSpan.MaxValue;
            UnwindRow[] rows = [];
            UnwindTableInfo info = new(0, 0, 0, false);
            for (var i = 0; i < 3; i++)
            {
                var clock = Stopwatch.StartNew();
                rows = UnwindTableBuilder.Build(path, out info);
                best = clock.Elapsed < best ? clock.Elapsed : best;
            }

            var mb = info.CfiBytes / 1e6;
            Console.WriteLine($"| {path} | {info.CfiBytes:N0} | {best.TotalMilliseconds:F1} ms | {mb / best.TotalSeconds:F1} | {rows.Length:N0} | {(long)rows.Length * UnwindRow.Size:N0} |");
        }

        Machine();
    }

    /// <summary>Distinct executable file mappings of every process now running, as the agent would load them.</summary>
    private static void Machine()
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        var processes = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var any = false;
                foreach (var line in File.ReadLines($"/proc/{pid}/maps"))
                {
                    var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length == 6 && fields[1].Contains('x', StringComparison.Ordinal) && fields[5].StartsWith('/') && !fields[5].EndsWith(" (deleted)", StringComparison.Ordinal))
                    {
                        files.Add(fields[5]);
                        any = true;
                    }
                }

                processes += any ? 1 : 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // exited meanwhile, or a kernel thread
            }
        }

        long rows = 0, cfi = 0;
        var built = 0;
        var clock = Stopwatch.StartNew();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in files)
        {
            try
            {
                // The agent keys tables by build id: one table for a file mapped under two names.
                var id = ElfFile.Open(path).BuildId ?? path;
                if (!ids.Add(id))
                {
                    continue;
                }

                rows += UnwindTableBuilder.Build(path, out var info).Length;
                cfi += info.CfiBytes;
                built++;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                // not ELF (.NET assemblies mapped executable) or unreadable
            }
        }

        Console.WriteLine();
        Console.WriteLine($"machine: {processes} processes with executable file mappings, {files.Count} distinct files, {built} ELF tables; "
            + $"{cfi / 1e6:F1} MB of CFI built in {clock.Elapsed.TotalSeconds:F2} s; {rows:N0} rows = {rows * UnwindRow.Size / 1048576.0:F1} MiB of BPF row memory "
            + $"(default --dwarf-unwinding-max-rows: {Parca.Agent.Unwinding.RowBudget.FromMemory(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes):N0} rows here, 1/256 of the memory)");
    }
}
