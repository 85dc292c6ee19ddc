using System.Buffers;
using Parca.Storage.Ingest;
using Parca.Storage.Internal;

namespace Parca.Storage.Symbols;

/// <summary>
/// Content hashing of ingest profiles, done outside the head's write lock and in parallel across requests: a
/// location's hash covers its mapping, address and lines with their functions' content (strings hashed from their
/// UTF-8 bytes); a stack's hash covers its locations' hashes, leaf first.
/// </summary>
internal sealed partial class SymbolDb
{
    private static readonly Hash128 s_noMapping = new(0x6E6F6D6170UL, 0x6D61707069UL);
    private static readonly Hash128 s_noFunction = new(0x6E6F66756EUL, 0x66756E6374UL);

    /// <summary>A profile with its location and stack hashes, ready for <see cref="Intern(Prepared)"/> and the stack tree.</summary>
    public sealed class Prepared
    {
        public required IngestProfile Profile { get; init; }

        /// <summary>Content hash of each location (a pooled array, at least as long as the profile's locations).</summary>
        public required Hash128[] Locations { get; init; }

        /// <summary>Content hash of each sample's stack (its locations' hashes, leaf first).</summary>
        public required Hash128[] Stacks { get; init; }

        /// <summary>False when <see cref="Locations"/> belongs to the caller (hashes of a table shared by several profiles).</summary>
        public bool OwnsLocations { get; init; } = true;

        /// <summary>Returns the (pooled) hash arrays once the profile is appended; the instance is unusable after.</summary>
        public void Release()
        {
            if (OwnsLocations)
            {
                ArrayPool<Hash128>.Shared.Return(Locations);
            }

            ArrayPool<Hash128>.Shared.Return(Stacks);
        }
    }

    public static Prepared Prepare(IngestProfile p) => Prepare(p, null);

    /// <summary>
    /// Hashes <paramref name="p"/>'s stacks, and its locations unless <paramref name="locationHashes"/> already holds
    /// them (from <see cref="HashLocations"/> of a profile with the same symbol tables, see <see cref="SameTables"/>).
    /// </summary>
    public static Prepared Prepare(IngestProfile p, Hash128[]? locationHashes)
    {
        var locations = locationHashes ?? HashLocations(p);
        var stacks = ArrayPool<Hash128>.Shared.Rent(Math.Max(p.SampleCount, 1));
        var offsets = p.StackOffsets;
        var stackLocations = p.StackLocations;
        for (var i = 0; i < p.SampleCount; i++)
        {
            var start = offsets[i];
            var end = offsets[i + 1];
            var h = ContentHash.Combine(0x737461636BUL, (ulong)(end - start));
            for (var k = start; k < end; k++)
            {
                h = ContentHash.Combine(h, locations[stackLocations[k]]);
            }

            stacks[i] = h;
        }

        return new Prepared { Profile = p, Locations = locations, Stacks = stacks, OwnsLocations = locationHashes is null };
    }

    /// <summary>
    /// True when <paramref name="b"/> has the very same symbol tables (the same arrays) as <paramref name="a"/>, as the
    /// profiles of one Arrow or OTLP request do: then <paramref name="a"/>'s location hashes are <paramref name="b"/>'s.
    /// </summary>
    public static bool SameTables(IngestProfile a, IngestProfile b) =>
        ReferenceEquals(a.Locations, b.Locations) && ReferenceEquals(a.Lines, b.Lines) &&
        ReferenceEquals(a.Functions, b.Functions) && ReferenceEquals(a.Mappings, b.Mappings) &&
        (a.StringRanges is null
            ? b.StringRanges is null && ReferenceEquals(a.Strings, b.Strings)
            : ReferenceEquals(a.StringRanges, b.StringRanges) && a.StringData.Equals(b.StringData));

    /// <summary>Content hashes of a profile's locations, in a pooled array (the caller returns it).</summary>
    public static Hash128[] HashLocations(IngestProfile p)
    {
        var stringCount = p.StringCount;
        var strings = ArrayPool<Hash128>.Shared.Rent(Math.Max(stringCount, 1));
        var functions = ArrayPool<Hash128>.Shared.Rent(Math.Max(p.Functions.Length, 1));
        var mappings = ArrayPool<Hash128>.Shared.Rent(Math.Max(p.Mappings.Length, 1));
        try
        {
            if (p.StringRanges is { } ranges)
            {
                var data = p.StringData.Span;
                for (var i = 0; i < stringCount; i++)
                {
                    strings[i] = ContentHash.Of(data.Slice(ranges[i].Offset, ranges[i].Length));
                }
            }
            else
            {
                var table = p.Strings;
                for (var i = 0; i < stringCount; i++)
                {
                    strings[i] = ContentHash.Of(table[i]);
                }
            }

            for (var i = 0; i < p.Functions.Length; i++)
            {
                var f = p.Functions[i];
                var h = ContentHash.Combine(strings[f.Name], strings[f.SystemName]);
                h = ContentHash.Combine(h, strings[f.FileName]);
                functions[i] = ContentHash.Combine(h, (ulong)f.StartLine);
            }

            for (var i = 0; i < p.Mappings.Length; i++)
            {
                var m = p.Mappings[i];
                var h = ContentHash.Combine(m.Start, m.Limit);
                h = ContentHash.Combine(h, m.Offset);
                h = ContentHash.Combine(h, strings[m.File]);
                mappings[i] = ContentHash.Combine(h, strings[m.BuildId]);
            }

            var locations = ArrayPool<Hash128>.Shared.Rent(Math.Max(p.Locations.Length, 1));
            var lines = p.Lines;
            for (var i = 0; i < p.Locations.Length; i++)
            {
                var l = p.Locations[i];
                var h = ContentHash.Combine(l.Mapping >= 0 ? mappings[l.Mapping] : s_noMapping, l.Address);
                h = ContentHash.Combine(h, (ulong)l.LineCount);
                for (var k = 0; k < l.LineCount; k++)
                {
                    var line = lines[l.FirstLine + k];
                    h = ContentHash.Combine(h, line.Function >= 0 ? functions[line.Function] : s_noFunction);
                    h = ContentHash.Combine(h, (ulong)line.Line);
                }

                locations[i] = h;
            }

            return locations;
        }
        finally
        {
            ArrayPool<Hash128>.Shared.Return(strings);
            ArrayPool<Hash128>.Shared.Return(functions);
            ArrayPool<Hash128>.Shared.Return(mappings);
        }
    }
}
