using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// The steps every interpreter end-to-end test takes, each ended by a condition (bounded generously, never a
/// wall-clock assertion) so that a loaded machine makes them slower, not flaky: wait until the agent walks the
/// process, until it has taken enough samples of it, and until the server holds every one of them.
/// </summary>
internal static partial class InterpreterRuns
{
    /// <summary>Samples of a tracee the tests want (at 19 Hz about 4 s of one busy thread).</summary>
    public const int WantedSamples = 80;

    /// <summary>
    /// Waits until the agent walks <paramref name="pids"/>' interpreted frames (and their unwind tables are loaded),
    /// then one more window; returns that time. Earlier samples were taken before the agent knew the process.
    /// </summary>
    public static async Task<DateTimeOffset> WaitForInterpreterAsync(ServerReadback run, params int[] pids)
    {
        var interpreters = run.Agent.Agent.Interpreters ?? throw new InvalidOperationException("the agent runs without interpreter support");
        foreach (var pid in pids)
        {
            await run.WaitForTablesAsync(pid);
            for (var i = 0; i < 1200 && interpreters.Process(pid) is null; i++)
            {
                await Task.Delay(50);
            }

            Assert.True(interpreters.Process(pid) is not null, $"the agent never recognised pid {pid} as an interpreter; log:\n"
                + string.Join("\n", run.Agent.Logs.Entries.Where(e => e.Level >= LogLevel.Information || e.Category.Contains("interp", StringComparison.Ordinal)).Select(e => e.Message)));

            // On a loaded machine the agent reads the ring buffer seconds late: samples taken before the process was
            // recognised still arrive in later windows. Wait until a window holds its interpreted frames.
            for (var i = 0; i < 1200 && !HasInterpretedFrames(run, pid); i++)
            {
                await Task.Delay(100);
            }

            Assert.True(HasInterpretedFrames(run, pid), $"no window of pid {pid} held interpreted frames in 2 minutes");
        }

        await Task.Delay(run.Agent.Agent.Options.ProfilingDuration);
        return DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// Lets the agent take at least <paramref name="samples"/> samples of each of <paramref name="pids"/> in windows
    /// from <paramref name="from"/> on, stops <paramref name="tracee"/> (and its children), and waits until the server
    /// holds every sample the agent took of them since <paramref name="from"/>.
    /// </summary>
    public static async Task CollectAsync(ServerReadback run, Process tracee, DateTimeOffset from, int samples, params int[] pids)
    {
        for (var i = 0; i < 3000 && pids.Any(p => AgentSamples(run, p, from) < samples); i++)
        {
            await Task.Delay(100);
        }

        var taken = pids.Select(p => AgentSamples(run, p, from)).ToArray();
        Assert.True(taken.All(t => t >= samples), $"the agent took only {string.Join(", ", taken)} samples of pids {string.Join(", ", pids)} in 5 minutes");
        tracee.Kill(entireProcessTree: true);
        await tracee.WaitForExitAsync();

        // The window that was open when the tracee died still holds its last samples.
        await WaitForWindowAsync(run);
        await WaitForServerAsync(run, from, pids);
    }

    /// <summary>Waits until the window open now has closed (so its samples are in <see cref="AgentHarness.Profiles"/>).</summary>
    public static async Task WaitForWindowAsync(ServerReadback run)
    {
        var windows = run.Agent.Agent.Metrics.Windows;
        for (var i = 0; i < 1200 && run.Agent.Agent.Metrics.Windows <= windows; i++)
        {
            await Task.Delay(100);
        }

        Assert.True(run.Agent.Agent.Metrics.Windows > windows, "the agent closed no window in 2 minutes");
    }

    /// <summary>Waits until the server's merged profile of each pid holds every sample the agent took of it since <paramref name="from"/>.</summary>
    public static async Task WaitForServerAsync(ServerReadback run, DateTimeOffset from, params int[] pids)
    {
        foreach (var pid in pids)
        {
            var want = AgentSamples(run, pid, from);
            long have = 0;
            for (var i = 0; i < 300; i++)
            {
                have = PprofFrames.SampleCount(await run.QueryFileAsync($"pid=\"{pid}\"", from));
                if (have >= want)
                {
                    break;
                }

                await Task.Delay(200);
            }

            // The agent's windows of the pid, to tell a window the server never got from samples lost inside one.
            var label = pid.ToString(CultureInfo.InvariantCulture);
            var windows = string.Join(", ", run.Agent.Profiles.Where(p => p.Time >= from && p.Labels.TryGetValue("pid", out var v) && v == label)
                .Select(p => $"{p.Time:HH:mm:ss.fff} {p.Samples}"));
            Assert.True(have >= want, $"the server holds {have} of the {want} samples the agent took of pid {pid} (the agent's windows since {from:HH:mm:ss.fff}: {windows})");
        }
    }

    private static bool HasInterpretedFrames(ServerReadback run, int pid)
    {
        var label = pid.ToString(CultureInfo.InvariantCulture);
        return run.Agent.Profiles.Any(p => p.Labels.TryGetValue("pid", out var v) && v == label
            && Parca.Pprof.PprofDecoder.DecodeProfile(p.PprofGzip).Mappings.Any(m => m.Filename is "[python]" or "[perl]" or "[ruby]" or "[php]" or "[v8js]"));
    }

    /// <summary>Samples of <paramref name="pid"/> in the agent's windows that began at or after <paramref name="from"/>.</summary>
    public static long AgentSamples(ServerReadback run, int pid, DateTimeOffset from)
    {
        var label = pid.ToString(CultureInfo.InvariantCulture);
        return run.Agent.Profiles.Where(p => p.Time >= from && p.Labels.TryGetValue("pid", out var v) && v == label).Sum(p => p.Samples);
    }

    /// <summary>
    /// Share of samples whose interpreted frames are exactly <paramref name="chain"/> (leaf first; "name *" = any file
    /// and line) and whose outermost frame is <paramref name="root"/> (see <see cref="IsNative"/>).
    /// </summary>
    public static void AssertChainShare(List<(long Value, StackFrame[] Frames)> stacks, string[] chain, (string Function, string File) root, double share)
    {
        var total = stacks.Sum(s => s.Value);
        var hot = stacks.Where(s => MatchesChain(s.Frames, chain, root)).Sum(s => s.Value);
        Assert.True(total > 0, "the server returned an empty profile");
        Assert.True(hot >= total * share, $"{string.Join(" <- ", chain)} <- ... <- {root.Function} holds {hot} of {total} (sample values); the other stacks:\n"
            + PprofFrames.Format([.. stacks.Where(s => !MatchesChain(s.Frames, chain, root))]));
    }

    /// <summary>
    /// The stack's interpreted frames, in order, are exactly <paramref name="chain"/> (native frames may sit between
    /// runs of them, e.g. a C call that re-enters the interpreter), and its outermost frame is <paramref name="root"/>.
    /// </summary>
    public static bool MatchesChain(StackFrame[] frames, string[] chain, (string Function, string File) root)
    {
        var interpreted = frames.Where(f => f.IsInterpreted).ToArray();
        if (interpreted.Length != chain.Length || frames.Length == 0 || !IsNative(frames[^1], root))
        {
            return false;
        }

        for (var i = 0; i < chain.Length; i++)
        {
            var pattern = chain[i];
            var ok = pattern.EndsWith(" *", StringComparison.Ordinal) ? interpreted[i].Function == pattern[..^2] : interpreted[i].ToString() == pattern;
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The native frame <paramref name="expected"/> (function, file): by name, or when the frame is unnamed, by its
    /// file. On a heavily loaded machine the agent may close a window before it has read a new process's files (it
    /// logs so); that window's native frames keep their addresses and files but no names.
    /// </summary>
    public static bool IsNative(StackFrame frame, (string Function, string File) expected) =>
        frame.Function == expected.Function || (frame.Function.Length == 0 && !frame.IsInterpreted && frame.Mapping.EndsWith(expected.File, StringComparison.Ordinal));

    /// <summary>No warning or error about the interpreter or naming the process (other processes may have their own).</summary>
    public static void AssertNoInterpreterWarnings(ServerReadback run, int pid) =>
        Assert.Empty(run.Agent.Logs.Entries.Where(e => e.Level >= LogLevel.Warning
            && (e.Category.Contains("interpreters", StringComparison.Ordinal) || e.Message.Contains($"process {pid} ", StringComparison.Ordinal))).Select(e => e.Message));
}
