using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Parca.Pprof;
using Parca.Server.SelfProfiling;

namespace Parca.Scrape.Tests;

/// <summary>
/// How the self-profiling stays cheap: the CPU sampler runs for a slice of each window and its samples are scaled to
/// the window; frames are named by a process-wide method map (one rundown, then an in-process method-load listener)
/// instead of a rundown per window.
/// </summary>
[Collection("self-profiling")]
public sealed partial class SelfProfilingSamplingTests
{
    private const string Self = "Parca.Scrape.Tests.SelfProfilingSamplingTests.";

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static double SpinForTheWholeWindow(CancellationToken stop)
    {
        var x = 0.0;
        while (!stop.IsCancellationRequested)
        {
            for (var i = 0; i < 100_000; i++)
            {
                x += Math.Sqrt(i);
            }
        }

        return x;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CompiledAfterTheFirstProfile(ManualResetEventSlim parked, ManualResetEventSlim release)
    {
        parked.Set();
        release.Wait();
        GC.KeepAlive(release); // keeps the call out of tail position, so this frame stays on the stack
    }

    private static async Task<byte[]> Get(TestServer test, string path)
    {
        using var http = new HttpClient { BaseAddress = test.Server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    [GeneratedRegex(@"^cpu: sampled (?<sampled>[0-9.]+) s of the (?<window>[0-9.]+) s window \((?<rounds>[0-9]+) sampler rounds\)")]
    private static partial Regex CpuComment();

    [Fact]
    public async Task Cpu_window_is_sampled_for_a_tenth_and_the_busy_thread_is_scaled_to_the_whole_window()
    {
        await using var test = await TestServer.StartAsync("");
        using var stop = new CancellationTokenSource();
        var busy = new Thread(() => SpinForTheWholeWindow(stop.Token)) { IsBackground = true };
        busy.Start();
        byte[] profile;
        try
        {
            profile = await Get(test, "debug/pprof/profile?seconds=5");
        }
        finally
        {
            await stop.CancelAsync();
            busy.Join();
        }

        var decoded = PprofDecoder.DecodeProfile(profile);
        Assert.Equal(5_000_000_000, decoded.DurationNanos);
        var comment = CpuComment().Match(Assert.Single(decoded.Comments));
        Assert.True(comment.Success, decoded.Comments[0]);
        Assert.Equal("1", comment.Groups["sampled"].Value);
        Assert.Equal("5", comment.Groups["window"].Value);
        var rounds = long.Parse(comment.Groups["rounds"].Value, CultureInfo.InvariantCulture);

        // The sampler makes at most one round per millisecond: sampling the whole 5 s would allow up to 5000 rounds,
        // a 1 s slice about 1000 (a few more while the session stops).
        Assert.InRange(rounds, 100, 2_500);
        var period = decoded.Period;
        Assert.Equal(5_000_000_000 / rounds, period); // each sample stands for window / rounds

        // go tool pprof reads it and finds the thread's method; the exact values come from the decoded profile
        // (pprof prints nanoseconds rounded to its display unit).
        Assert.Contains(GoPprof.CumulativeByFunction(profile, "cpu").Keys, k => k.StartsWith(Self + "SpinForTheWholeWindow", StringComparison.Ordinal));
        var (samples, cpu) = Cumulative(decoded, Self + "SpinForTheWholeWindow");
        Assert.Equal(samples * period, cpu);

        // The thread ran managed code all window long, so it is in (nearly) every round of the slice, and the scaled
        // estimate is (nearly) the whole window: the tolerance is in rounds, from this profile's own round count.
        Assert.InRange(samples, rounds * 8 / 10, rounds);
        Assert.InRange(cpu, 4_000_000_000, 5_000_000_000);
    }

    /// <summary>Sums both values of the samples whose stack holds a function whose name starts with <paramref name="prefix"/>.</summary>
    private static (long Samples, long Cpu) Cumulative(Profile profile, string prefix)
    {
        var functions = profile.Functions.Where(f => f.Name.StartsWith(prefix, StringComparison.Ordinal)).Select(f => f.Id).ToHashSet();
        var locations = profile.Locations.Where(l => l.Lines.Any(line => functions.Contains(line.FunctionId))).Select(l => l.Id).ToHashSet();
        long samples = 0, cpu = 0;
        foreach (var sample in profile.Samples.Where(s => s.LocationIds.Any(locations.Contains)))
        {
            samples += sample.Values[0];
            cpu += sample.Values[1];
        }

        return (samples, cpu);
    }

    [Theory]
    [InlineData(1, 1_000)]
    [InlineData(2, 1_000)]
    [InlineData(10, 1_000)]
    [InlineData(30, 3_000)]
    [InlineData(300, 30_000)]
    public void A_tenth_of_the_window_is_sampled_at_the_default_rate_but_at_least_a_second(int seconds, int sampledMs)
    {
        Assert.Equal(1_000_000, SelfProfiler.SamplerIntervalNanos); // DOTNET_EventPipeThreadSamplingRate is not set here
        Assert.Equal(TimeSpan.FromMilliseconds(sampledMs), SelfProfiler.SampledSpan(TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public async Task Code_compiled_between_profiles_is_named_by_the_listener_without_another_rundown()
    {
        await using var test = await TestServer.StartAsync("");
        await Get(test, "debug/pprof/goroutine"); // the first profile starts the listener and takes the first rundown
        var methods = SelfProfiler.Methods;
        Assert.True(methods.Refreshes >= 1);
        Assert.False(methods.Knows(Self + "CompiledAfterTheFirstProfile"));

        using var parked = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var thread = new Thread(() => CompiledAfterTheFirstProfile(parked, release)) { IsBackground = true };
        thread.Start();
        try
        {
            Assert.True(parked.Wait(TimeSpan.FromMinutes(1)));

            // Named by the in-process listener while no session runs (no rundown can have named it).
            var refreshes = methods.Refreshes;
            for (var i = 0; i < 200 && !methods.Knows(Self + "CompiledAfterTheFirstProfile"); i++)
            {
                await Task.Delay(50);
            }

            Assert.True(methods.Knows(Self + "CompiledAfterTheFirstProfile"));
            Assert.Equal(refreshes, methods.Refreshes);

            var threads = await Get(test, "debug/pprof/goroutine");
            Assert.Equal(1, GoPprof.CumulativeByFunction(threads).Single(kv => kv.Key.StartsWith(Self + "CompiledAfterTheFirstProfile", StringComparison.Ordinal)).Value);
        }
        finally
        {
            release.Set();
            thread.Join();
        }
    }
}
