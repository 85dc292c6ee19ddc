using System.Diagnostics;
using Parca.Agent.Processes;

namespace Parca.Agent.Tests;

/// <summary>Per-process file work off the window path: a job stuck on a real blocking file costs only its own process.</summary>
public sealed class ProcessJobsTests
{
    [Fact]
    public async Task A_job_blocked_on_a_fifo_costs_only_its_process_and_is_joined_not_restarted()
    {
        var dir = Directory.CreateTempSubdirectory("parca-agent-jobs-").FullName;
        var fifo = Path.Combine(dir, "fifo");
        Tracees.Run("mkfifo", fifo);
        var logs = new RecordingLoggerProvider();
        var jobs = new ProcessJobs(logs.CreateLogger("parca.agent.files"));
        var stuckRuns = 0;
        var fineRuns = 0;
        // A plain blocking read of a FIFO without a writer: what a trusting agent did with a hostile perf map.
        void Stuck()
        {
            if (Interlocked.Increment(ref stuckRuns) == 1)
            {
                using var f = File.OpenRead(fifo);
                _ = f.ReadByte();
            }
        }

        var work = new Dictionary<int, (string, Action)>
        {
            [101] = ("stuck", Stuck),
            [102] = ("fine", () => Interlocked.Increment(ref fineRuns)),
        };

        await jobs.RunAsync(work, Deadline(seconds: 3));
        Assert.Equal(1, fineRuns);
        Assert.Equal(1, jobs.TimedOut);
        Assert.Equal(1, jobs.Unfinished);

        // The next window joins the stuck job instead of starting a second one; the other process is served again.
        await jobs.RunAsync(work, Deadline(seconds: 3));
        Assert.Equal(1, Volatile.Read(ref stuckRuns));
        Assert.Equal(2, fineRuns);
        Assert.Equal(2, jobs.TimedOut);
        var line = Assert.Single(logs.Entries);
        Assert.Equal("process 101 (stuck): reading its files did not finish in time; its frames stay unsymbolized until it does (logged once per process)", line.Message);

        // Unblock it: once finished, the job is forgotten and the next window starts a fresh one.
        using (var writer = new FileStream(fifo, FileMode.Open, FileAccess.Write))
        {
            writer.WriteByte(1);
        }

        await jobs.RunAsync(new Dictionary<int, (string, Action)> { [101] = work[101] }, Deadline(seconds: 30));
        await jobs.RunAsync(new Dictionary<int, (string, Action)> { [101] = work[101] }, Deadline(seconds: 30));
        Assert.Equal(0, jobs.Unfinished);
        Assert.True(Volatile.Read(ref stuckRuns) >= 2);
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_job_that_throws_is_counted_and_logged_once()
    {
        var logs = new RecordingLoggerProvider();
        var jobs = new ProcessJobs(logs.CreateLogger("parca.agent.files"));
        var work = new Dictionary<int, (string, Action)> { [7] = ("broken", () => throw new InvalidDataException("bad perf map line")) };
        await jobs.RunAsync(work, Deadline(seconds: 30));
        await jobs.RunAsync(work, Deadline(seconds: 30));
        Assert.Equal(2, jobs.Failed);
        Assert.Equal("process 7 (broken): reading its files failed: bad perf map line; its frames stay unsymbolized (logged once per process)", Assert.Single(logs.Entries).Message);
    }

    private static long Deadline(int seconds) => Stopwatch.GetTimestamp() + (seconds * Stopwatch.Frequency);
}
