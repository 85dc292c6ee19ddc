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
}
