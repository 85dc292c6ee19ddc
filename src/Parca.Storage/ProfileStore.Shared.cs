using System.Buffers;
using Parca.Storage.Ingest;
using Parca.Storage.Internal;
using Parca.Storage.Symbols;

namespace Parca.Storage;

public sealed partial class ProfileStore
{
    /// <summary>
    /// Stores several profiles, in order, as <see cref="Append(string, LabelSet, IngestProfile)"/> does one by one.
    /// Arrow and OTLP requests become many profiles (one per type, label set and time bucket) that share one set of
    /// symbol tables (the same arrays): their locations are hashed once for all of them instead of once per
    /// profile, which with ten series per request was most of the ingest's hashing. Profiles with tables of their
    /// own are hashed as usual. Returns the samples stored; a failure leaves the profiles before it stored.
    /// </summary>
    public long AppendAll(IReadOnlyList<(string Name, LabelSet Labels, IngestProfile Profile)> profiles)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        if (profiles.Count == 0)
        {
            return 0;
        }

        var first = profiles[0].Profile;
        Hash128[]? shared = null;
        try
        {
            long stored = 0;
            foreach (var (name, labels, profile) in profiles)
            {
                Hash128[]? hashes = null;
                if (SymbolDb.SameTables(first, profile))
                {
                    hashes = shared ??= SymbolDb.HashLocations(first);
                }

                stored += Append(name, labels, profile, default, hashes);
            }

            return stored;
        }
        finally
        {
            if (shared is not null)
            {
                ArrayPool<Hash128>.Shared.Return(shared);
            }
        }
    }
}
