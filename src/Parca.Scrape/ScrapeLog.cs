using Microsoft.Extensions.Logging;

namespace Parca.Scrape;

internal static partial class ScrapeLog
{
    [LoggerMessage(100, LogLevel.Warning, "scrape failed: job={Job} profile={Profile} url={Url} err={Error}")]
    public static partial void ScrapeFailed(ILogger logger, string job, string profile, string url, string error);

    [LoggerMessage(101, LogLevel.Information, "scrape target is healthy again: job={Job} profile={Profile} url={Url}")]
    public static partial void ScrapeRecovered(ILogger logger, string job, string profile, string url);

    [LoggerMessage(102, LogLevel.Information, "scrape job synced: job={Job} active={Active} dropped={Dropped}")]
    public static partial void JobSynced(ILogger logger, string job, int active, int dropped);

    [LoggerMessage(103, LogLevel.Warning, "target dropped: job={Job} labels={Labels} reason={Reason}")]
    public static partial void TargetDropped(ILogger logger, string job, string labels, string reason);

    [LoggerMessage(104, LogLevel.Warning, "file_sd: cannot read {File}: {Error}")]
    public static partial void FileSdError(ILogger logger, string file, string error);

    [LoggerMessage(105, LogLevel.Warning, "no profile storage in this process: scraped profiles are counted and discarded")]
    public static partial void NoStorage(ILogger logger);

    [LoggerMessage(106, LogLevel.Error, "scrape loop crashed: job={Job} profile={Profile} url={Url}")]
    public static partial void LoopCrashed(ILogger logger, Exception exception, string job, string profile, string url);
}
