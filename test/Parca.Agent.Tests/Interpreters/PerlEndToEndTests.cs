using System.Globalization;
using Microsoft.Extensions.Logging;
using Parca.Agent.Interpreters;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// Perl frames from Debian's /usr/bin/perl (5.36), run with no flags or environment changes, profiled by the real
/// agent on the real kernel and read back from a real parca: package-qualified sub, file and line of every frame,
/// spliced into the native stack in place of Perl_runops_standard.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class PerlEndToEndTests
{
    private const string Perl = "/usr/bin/perl";
    private const string Comm = "perl";
    private const string LongRun = "300";

    private static readonly string[] s_mainChain = ["main::leaf chain.pl:10", "main::level3 chain.pl:14", "main::level2 chain.pl:16", "main::level1 chain.pl:18", "main::spin chain.pl:23"];

    private static readonly (string, string) s_start = ("_start", Perl);
    private static readonly (string, string) s_clone = ("__clone3", "/libc.so.6");

    private static string Script => Path.Combine(AppContext.BaseDirectory, "Interpreters", "scripts", "chain.pl");

    [Fact]
    public async Task Four_level_chain_has_every_sub_file_and_line_above_the_native_entry_frames()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var perl = Tracees.Start(Perl, Script, "chain", LongRun);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, perl.Id);
        await InterpreterRuns.CollectAsync(run, perl, from, InterpreterRuns.WantedSamples, perl.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{perl.Id}\"", from));
        InterpreterRuns.AssertChainShare(stacks, [.. s_mainChain, "<main> chain.pl:45"], s_start, 0.9);
        InterpreterRuns.AssertNoInterpreterWarnings(run, perl.Id);
    }

    [Fact]
    public async Task A_second_thread_has_its_own_chain_under_its_own_thread_label()
    {
        await using var run = await ServerReadback.StartAsync(Comm, extraRelabel: "- source_labels: [__meta_thread_id]\n  target_label: tid\n");
        using var perl = Tracees.Start(Perl, Script, "threads", LongRun);
        var tids = (await perl.StandardOutput.ReadLineAsync())!.Split(' ');
        Assert.Equal("threads", tids[0]);
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, perl.Id);
        await InterpreterRuns.CollectAsync(run, perl, from, 2 * InterpreterRuns.WantedSamples, perl.Id);

        var main = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{perl.Id}\",tid=\"{tids[1]}\"", from));
        var worker = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{perl.Id}\",tid=\"{tids[2]}\"", from));
        InterpreterRuns.AssertChainShare(main, [.. s_mainChain, "<main> chain.pl:54"], s_start, 0.9);
        // threads.xs runs the thread's sub through call_sv(..., G_EVAL): a real eval context sits between the
        // anonymous sub and the thread's <main>, and Perl's own caller() reports it as "(eval)" too.
        InterpreterRuns.AssertChainShare(worker, ["main::worker_leaf chain.pl:29", "main::worker_middle chain.pl:33", "main::worker_spin chain.pl:38", "main::__ANON__ chain.pl:51", "(eval) chain.pl:51", "<main> *"], s_clone, 0.9);
        InterpreterRuns.AssertNoInterpreterWarnings(run, perl.Id);
    }

    [Fact]
    public async Task Forked_workers_each_have_the_chain()
    {
        await using var run = await ServerReadback.StartAsync(Comm);
        using var perl = Tracees.Start(Perl, Script, "fork", LongRun);
        var line = (await perl.StandardOutput.ReadLineAsync())!.Split(' ');
        Assert.Equal("children", line[0]);
        var children = line.Skip(1).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var from = await InterpreterRuns.WaitForInterpreterAsync(run, children);
        await InterpreterRuns.CollectAsync(run, perl, from, InterpreterRuns.WantedSamples, children);
        foreach (var child in children)
        {
            var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{child}\"", from));
            InterpreterRuns.AssertChainShare(stacks, [.. s_mainChain, "<main> chain.pl:60"], s_start, 0.9);
        }
    }

    [Fact]
    public async Task A_Perl_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        var hidden = HiddenVersionPerl();
        await using var run = await ServerReadback.StartAsync("perl5.99");
        using var perl = Tracees.Start(hidden, Script, "chain", LongRun);
        var from = await run.WaitForTablesAsync(perl.Id);
        await InterpreterRuns.CollectAsync(run, perl, from, InterpreterRuns.WantedSamples, perl.Id);

        var stacks = PprofFrames.Read(await run.QueryFileAsync($"pid=\"{perl.Id}\"", from));
        Assert.DoesNotContain(stacks, s => s.Frames.Any(f => f.IsInterpreted));
        Assert.True(stacks.Where(s => s.Frames.Any(f => InterpreterRuns.IsNative(f, ("Perl_runops_standard", hidden))) && InterpreterRuns.IsNative(s.Frames[^1], ("_start", hidden))).Sum(s => s.Value) >= stacks.Sum(s => s.Value) * 0.9,
            "native stacks through the runops loop were not shipped:\n" + PprofFrames.Format(stacks));
        var line = Assert.Single(run.Agent.Logs.Entries, e => e.Message.Contains($"process {perl.Id} ", StringComparison.Ordinal) && e.Level >= LogLevel.Information);
        Assert.Contains("Perl 5.99.0", line.Message, StringComparison.Ordinal);
        Assert.Contains(hidden, line.Message, StringComparison.Ordinal);
        InterpreterRuns.AssertNoInterpreterWarnings(run, perl.Id);
        Assert.Equal(1, run.Agent.Agent.Interpreters!.Unsupported);
    }

    /// <summary>Debian's perl copied as perl5.99 with the PL_version byte patched to 99: a version the agent has no table for.</summary>
    private static string HiddenVersionPerl()
    {
        var dir = Path.Combine(Tracees.OutputDirectory, "hidden-perl");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "perl5.99");
        File.Copy(Perl, path, overwrite: true);
        var elf = ElfFile.Open(path);
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite))
        {
            var (value, _) = ElfNamedSymbols.Find(elf, handle, "PL_version")["PL_version"];
            var segment = elf.ProgramHeaders.First(p => p.Type == 1 && value >= p.VirtualAddress && value < p.VirtualAddress + p.FileSize);
            RandomAccess.Write(handle, [99], (long)(segment.Offset + (value - segment.VirtualAddress)));
        }

        return path;
    }
}
