using Microsoft.Extensions.Logging;

namespace Parca.Server;

internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Information, "parca {Version} listening on {Address}")]
    public static partial void Listening(ILogger logger, string version, string address);

    [LoggerMessage(2, LogLevel.Warning, "storage: {Problem}")]
    public static partial void StorageLoadProblem(ILogger logger, string problem);

    [LoggerMessage(3, LogLevel.Information, "storage: replayed {Profiles} profiles from the write-ahead log")]
    public static partial void WalReplayed(ILogger logger, int profiles);

    /// <summary>A storage event while running (disk full and back, failed compactions, what shutdown could not write).</summary>
    [LoggerMessage(4, LogLevel.Warning, "{Event}")]
    public static partial void StorageEvent(ILogger logger, string @event);

    [LoggerMessage(5, LogLevel.Debug, "query path warmed up in {Milliseconds:F0} ms (each report type once over a synthetic profile)")]
    public static partial void QueryWarmupDone(ILogger logger, double milliseconds);

    [LoggerMessage(6, LogLevel.Warning, "query warm-up failed (only the first query's speed depends on it): {Error}")]
    public static partial void QueryWarmupFailed(ILogger logger, string error);
}
