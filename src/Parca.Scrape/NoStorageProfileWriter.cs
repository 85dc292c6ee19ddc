using Microsoft.Extensions.Logging;

namespace Parca.Scrape;

/// <summary>
/// The writer used when nothing in the process stores profiles (no storage registered, no forwarder): profiles are
/// counted and discarded, and the server says so once in its log, so a misconfigured process is visible.
/// </summary>
internal sealed class NoStorageProfileWriter(ILogger<NoStorageProfileWriter> logger) : IProfileWriter
{
    private int _warned;

    public long Discarded => Interlocked.Read(ref _discarded);

    private long _discarded;

    public ValueTask WriteRawAsync(IReadOnlyList<KeyValuePair<string, string>> labels, ReadOnlyMemory<byte> pprof, IReadOnlyList<ExecutableInfo> executableInfos, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _warned, 1) == 0)
        {
            ScrapeLog.NoStorage(logger);
        }

        Interlocked.Increment(ref _discarded);
        return ValueTask.CompletedTask;
    }
}
