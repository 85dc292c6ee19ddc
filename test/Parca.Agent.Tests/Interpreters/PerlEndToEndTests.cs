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
    private const string LongRun = "300";

    private static readonly Interpreter s_perl = new(Perl, "perl", "chain.pl");

    private static readonly string[] s_mainChain = ["main::leaf chain.pl:10", "main::level3 chain.pl:14", "main::level2 chain.pl:16", "main::level1 chain.pl:18", "main::spin chain.pl:23"];

    [Fact]
    public Task Four_level_chain_has_every_sub_file_and_line_above_the_native_entry_frames() =>
        InterpreterRuns.AssertChainAsync(s_perl, ["chain", LongRun], [.. s_mainChain, "<main> chain.pl:45"]);

    // threads.xs runs the thread's sub through call_sv(..., G_EVAL): a real eval context sits between the anonymous
    // sub and the thread's <main>, and Perl's own caller() reports it as "(eval)" too.
    [Fact]
    public Task A_second_thread_has_its_own_chain_under_its_own_thread_label() =>
        InterpreterRuns.AssertThreadChainsAsync(
            s_perl,
            ["threads", LongRun],
            [.. s_mainChain, "<main> chain.pl:54"],
            ["main::worker_leaf chain.pl:29", "main::worker_middle chain.pl:33", "main::worker_spin chain.pl:38", "main::__ANON__ chain.pl:51", "(eval) chain.pl:51", "<main> *"]);

    [Fact]
    public Task Forked_workers_each_have_the_chain() =>
        InterpreterRuns.AssertForkedChainsAsync(s_perl, ["fork", LongRun], [.. s_mainChain, "<main> chain.pl:60"]);

    [Fact]
    public Task A_Perl_version_without_a_table_is_logged_once_and_profiled_natively()
    {
        // the PL_version byte patched to 99
        var hidden = s_perl with { Path = InterpreterRuns.PatchedCopy(Perl, "perl5.99", "PL_version", [99]), Comm = "perl5.99" };
        return InterpreterRuns.AssertUnsupportedVersionAsync(hidden.Comm, () => hidden.Run("chain", LongRun), ("Perl_runops_standard", hidden.Path), hidden.Start, "Perl 5.99.0", hidden.Path);
    }
}
