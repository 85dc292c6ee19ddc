using Parca.Pprof;

namespace Parca.Scrape.Tests;

/// <summary>
/// Records every profile the scraper handed to the real forwarder and the forwarder accepted (a pass-through in front
/// of it), identified by the profile's own <c>time_nanos</c>, so a test knows exactly which profiles must reach the store.
/// </summary>
internal sealed class ForwardLedger
{
    private readonly List<(long TimeNanos, string Name)> _accepted = [];

    public int Count
    {
        get
        {
            lock (_accepted)
            {
                return _accepted.Count;
            }
        }
    }

    public (long TimeNanos, string Name)[] Snapshot()
    {
        lock (_accepted)
        {
            return [.. _accepted];
        }
    }

    public IProfileWriter Wrap(IProfileWriter forwarder) => new Tee(forwarder, this);

    public async Task WaitForCountAsync(int count, TimeSpan guard)
    {
        using var cts = new CancellationTokenSource(guard);
        while (Count < count)
        {
            await Task.Delay(50, cts.Token);
        }
    }

    private sealed class Tee(IProfileWriter inner, ForwardLedger ledger) : IProfileWriter
    {
        public async ValueTask WriteRawAsync(IReadOnlyList<KeyValuePair<string, string>> labels, ReadOnlyMemory<byte> pprof, IReadOnlyList<ExecutableInfo> executableInfos, CancellationToken cancellationToken)
        {
            var time = PprofDecoder.DecodeProfile(pprof.Span).TimeNanos; // before the write: the buffer is pooled
            var name = labels.First(l => l.Key == "__name__").Value;
            await inner.WriteRawAsync(labels, pprof, executableInfos, cancellationToken);
            lock (ledger._accepted)
            {
                ledger._accepted.Add((time, name));
            }
        }
    }
}
