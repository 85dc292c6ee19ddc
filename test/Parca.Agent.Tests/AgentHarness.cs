using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Parca.Agent.Profiling;

namespace Parca.Agent.Tests;

/// <summary>A real <see cref="ParcaAgent"/> started in-process on 127.0.0.1:0 with a temp local store, recording profiles and logs.</summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    private AgentHarness(ParcaAgent agent, string storeDirectory, RecordingLoggerProvider logs)
    {
        Agent = agent;
        StoreDirectory = storeDirectory;
        Logs = logs;
        agent.ProfileStored += Profiles.Enqueue;
    }

    public ParcaAgent Agent { get; }

    public string StoreDirectory { get; }

    public RecordingLoggerProvider Logs { get; }

    public ConcurrentQueue<ProfileSeries> Profiles { get; } = new();

    public static async Task<AgentHarness> StartAsync(string? relabelYaml = null, int frequency = 99, double windowSeconds = 2, Action<ParcaAgentOptions>? configure = null)
    {
        var dir = Directory.CreateTempSubdirectory("parca-agent-test-").FullName;
        string configPath = "";
        if (relabelYaml is not null)
        {
            configPath = Path.Combine(dir, "parca-agent.yaml");
            File.WriteAllText(configPath, relabelYaml);
        }

        var logs = new RecordingLoggerProvider();
        var options = new ParcaAgentOptions
        {
            HttpAddress = "127.0.0.1:0",
            Node = "test-node",
            ProfilingDuration = TimeSpan.FromSeconds(windowSeconds),
            ProfilingCpuSamplingFrequency = frequency,
            LocalStoreDirectory = Path.Combine(dir, "store"),
            ConfigPath = configPath,
            LogLevel = "debug",
            ConfigureLogging = b => b.AddProvider(logs),
        };
        configure?.Invoke(options);
        var agent = ParcaAgent.Create(options);
        var harness = new AgentHarness(agent, options.LocalStoreDirectory, logs);
        await agent.StartAsync();
        return harness;
    }

    /// <summary>
    /// Waits until a profile matching <paramref name="match"/> was stored, for at most <paramref name="maxWindows"/>
    /// windows that the agent processed after this call (plus the one in progress). Counted in processed windows,
    /// not seconds: on a loaded machine (CI runs every test project at once on two cores) the agent processes its
    /// windows late, and a wall-clock wait gave up while the profile was still on its way. A generous wall-clock cap
    /// only keeps a stuck agent from hanging the run.
    /// </summary>
    public async Task<ProfileSeries> WaitForProfileAsync(Func<ProfileSeries, bool> match, int maxWindows = 6)
    {
        var windowsAtStart = Agent.Metrics.Windows;
        var started = DateTime.UtcNow;
        var cap = started + (Agent.Options.ProfilingDuration * maxWindows * 10) + TimeSpan.FromSeconds(30);
        while (true)
        {
            var windows = Agent.Metrics.Windows - windowsAtStart; // read before the profiles: a window stores its profiles, then counts
            var found = Profiles.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }

            if (windows > maxWindows || DateTime.UtcNow > cap)
            {
                throw new InvalidOperationException($"no matching profile in {windows} windows ({(DateTime.UtcNow - started).TotalSeconds:F1} s); got: " + string.Join("; ", Profiles.Select(p => string.Join(",", p.Labels.Select(kv => kv.Key + "=" + kv.Value)) + " pids=" + string.Join(",", p.Pids))));
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds, for at most <paramref name="maxWindows"/> windows the agent
    /// processes after this call (counted in windows like <see cref="WaitForProfileAsync"/>; the wall-clock cap only
    /// keeps a stuck agent from hanging the run). <paramref name="step"/> runs between checks (e.g. a request that
    /// keeps the app busy); without one, 50 ms pass. Returns whether the condition held.
    /// </summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, int maxWindows, Func<Task>? step = null)
    {
        var windowsAtStart = Agent.Metrics.Windows;
        var cap = DateTime.UtcNow + (Agent.Options.ProfilingDuration * maxWindows * 10) + TimeSpan.FromSeconds(30);
        while (true)
        {
            var windows = Agent.Metrics.Windows - windowsAtStart; // read before the condition, as above
            if (condition())
            {
                return true;
            }

            if (windows > maxWindows || DateTime.UtcNow > cap)
            {
                return false;
            }

            await (step?.Invoke() ?? Task.Delay(50));
        }
    }

    /// <summary>Writes a profile to a temp file for go tool pprof.</summary>
    public static string Save(ProfileSeries series)
    {
        var path = Path.Combine(Path.GetTempPath(), $"parca-agent-test-{Guid.NewGuid():N}.pb.gz");
        File.WriteAllBytes(path, series.PprofGzip);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        try
        {
            Directory.Delete(Path.GetDirectoryName(StoreDirectory)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Records every log entry of the agent so tests can assert that none is a warning or an error.</summary>
internal sealed class RecordingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}
