using Parca.Hosting;
using Parca.Storage;

namespace Parca.Ingest;

/// <summary>
/// The one step every grouped ingest path (Arrow <c>WriteArrow</c> and <c>Write</c>, OTLP <c>Export</c>) ends in: the
/// request's profiles are checked against the ingest limits and the storage's time window, all of them before the
/// first is stored (a request is all-or-nothing), then appended. The limits and their messages are WriteRaw's
/// (<see cref="LabelLimits"/>, the same flags), and storage refusals map to the same <see cref="IngestErrorKind"/>s.
/// </summary>
internal sealed class ProfileCommit(ProfileStore store, IngestLimits limits)
{
    public IngestLimits Limits => limits;

    /// <summary>Checks, then stores every profile of <paramref name="groups"/>; returns the samples stored.</summary>
    /// <param name="request">The request field the groups were read from, for messages about the request as a whole.</param>
    public long Store(ProfileGroups groups, string request)
    {
        Check(groups, request);
        var profiles = groups.Build();
        try
        {
            // One call for the request: its profiles share one symbol table, which storage then hashes once.
            return store.AppendAll(profiles);
        }
        catch (StorageWriteException e)
        {
            throw new IngestError(e.Message, e.DiskFull ? IngestErrorKind.DiskFull : IngestErrorKind.Unavailable);
        }
        catch (StorageBusyException e)
        {
            throw new IngestError(e.Message, IngestErrorKind.Busy);
        }
    }

    private void Check(ProfileGroups groups, string request)
    {
        var l = limits.Limits;
        var symbols = groups.Symbols;
        CheckSymbols(symbols.LocationCount, "locations", request);
        CheckSymbols(symbols.FunctionCount, "functions", request);
        CheckSymbols(symbols.StringCount, "strings", request);

        // A series is a profile type and label set; time buckets of one series are not more series.
        var series = new HashSet<(string, LabelSet)>();
        var retention = store.RetentionCutoffNanos;
        var future = store.FutureCutoffNanos;
        foreach (var g in groups.Ordered)
        {
            series.Add((g.Name, g.Labels));
            LabelLimits.CheckCount(l, g.Labels.Count + 1, g.Origin + ": labels"); // + 1: __name__, as WriteRaw counts it
            foreach (var label in g.Labels.Labels)
            {
                LabelLimits.CheckLengths(l, label.Name, label.Value, g.Origin + ": labels");
            }

            if (g.Values.Count > l.MaxProfileSamples)
            {
                throw new IngestError($"{g.Origin}: the profile {g.Name}{g.Labels} has {g.Values.Count} samples, more than the limit of {l.MaxProfileSamples} ({ServerLimits.Flag(nameof(ServerLimits.MaxProfileSamples))})", isLimit: true);
            }

            var offsets = g.Offsets;
            for (var i = 1; i < offsets.Count; i++)
            {
                var depth = offsets[i] - offsets[i - 1];
                if (depth > l.MaxStackDepth)
                {
                    throw new IngestError($"{g.Origin}: a stack of {depth} frames, deeper than the limit of {l.MaxStackDepth} ({ServerLimits.Flag(nameof(ServerLimits.MaxStackDepth))})", isLimit: true);
                }
            }

            if (g.TimeNanos < retention)
            {
                // Stored, it would vanish with the next block; refusing says so while the sender can still act.
                throw new IngestError($"{g.Origin}: timestamp {ProfileWriter.FormatTime(g.TimeNanos)} is older than the storage retention ({GoDuration.Format(store.Retention)}); start parca with --storage-retention=0 to keep old profiles");
            }

            if (g.TimeNanos > future)
            {
                throw new IngestError($"{g.Origin}: timestamp {ProfileWriter.FormatTime(g.TimeNanos)} is more than {GoDuration.Format(store.MaxFutureSkew)} ahead of the server's clock ({DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ssZ}); check the sender's clock, or raise --storage-max-future-skew");
            }
        }

        LabelLimits.CheckSeriesCount(l, series.Count);
    }

    private void CheckSymbols(int count, string what, string source)
    {
        var max = limits.Limits.MaxProfileSymbols;
        if (count > max)
        {
            throw new IngestError($"{source}: {count} {what} in one request, more than the limit of {max} ({ServerLimits.Flag(nameof(ServerLimits.MaxProfileSymbols))})", isLimit: true);
        }
    }
}
