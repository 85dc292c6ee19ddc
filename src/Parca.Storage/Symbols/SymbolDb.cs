using Parca.Storage.Ingest;
using Parca.Storage.Internal;

namespace Parca.Storage.Symbols;

/// <summary>
/// The mutable symbol database of a head partition: strings, mappings, functions and locations, each deduplicated by
/// content. One writer (the head's append lock); readers take <see cref="Snapshot"/> without locking.
/// </summary>
internal sealed partial class SymbolDb
{
    private readonly AppendList<string> _strings = new(1024);
    private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal);
    private readonly AppendList<MappingSym> _mappings = new(64);
    private readonly Dictionary<MappingSym, int> _mappingIds = [];
    private readonly AppendList<FunctionSym> _functions = new(1024);
    private readonly Dictionary<FunctionSym, int> _functionIds = [];
    private readonly AppendList<LocationSym> _locations = new(1024);
    private readonly AppendList<LineSym> _lines = new(1024);
    private readonly Dictionary<LocationKey, int> _locationIds = [];
    private readonly Dictionary<ulong, (int Id, ulong Check)> _locationsByContent = [];

    public SymbolDb()
    {
        _strings.Add("");
        _stringIds.Add("", 0);
        _mappings.Add(default);
        _functions.Add(default);
        _locations.Add(default);
    }

    public int LocationCount => _locations.Count;

    public long EstimatedBytes =>
        (_strings.Count * 64L) + (_mappings.Count * 80L) + (_functions.Count * 64L) + (_locations.Count * 104L) + (_lines.Count * 16L);

    public int InternString(string s)
    {
        if (!_stringIds.TryGetValue(s, out var id))
        {
            id = _strings.Add(s);
            _stringIds.Add(s, id);
        }

        return id;
    }

    public int InternMapping(in MappingSym m)
    {
        if (!_mappingIds.TryGetValue(m, out var id))
        {
            id = _mappings.Add(m);
            _mappingIds.Add(m, id);
        }

        return id;
    }

    public int InternFunction(in FunctionSym f)
    {
        if (!_functionIds.TryGetValue(f, out var id))
        {
            id = _functions.Add(f);
            _functionIds.Add(f, id);
        }

        return id;
    }

    /// <summary>Interns a location given its lines in partition ids (innermost first).</summary>
    public int InternLocation(int mapping, ulong address, ReadOnlySpan<LineSym> lines)
    {
        var h = new HashCode();
        foreach (var l in lines)
        {
            h.Add(l.Function);
            h.Add(l.Line);
        }

        var key = new LocationKey(mapping, address, lines.Length, h.ToHashCode());
        if (_locationIds.TryGetValue(key, out var id))
        {
            var existing = _locations.WriterRef(id);
            var same = true;
            for (var i = 0; i < lines.Length && same; i++)
            {
                same = _lines.WriterRef(existing.FirstLine + i) == lines[i];
            }

            if (same)
            {
                return id;
            }
        }

        var first = _lines.Count;
        foreach (var l in lines)
        {
            _lines.Add(l);
        }

        var newId = _locations.Add(new LocationSym(mapping, address, first, lines.Length));
        _locationIds.TryAdd(key, newId);
        return newId;
    }

    /// <summary>
    /// Interns the locations of a prepared profile and returns, for each of its locations, the partition location id.
    /// A location seen before is found by its content hash (both lanes must match), so in steady state no string,
    /// mapping or function of the profile is looked at, and no string is created. Only a new location interns what it
    /// references, materializing the strings it needs. Agents that renumber their locations cannot confuse this:
    /// the key is the content, never the pprof id or index.
    /// </summary>
    public int[] Intern(Prepared prepared)
    {
        var p = prepared.Profile;
        var result = new int[p.Locations.Length];
        int[]? strings = null;
        int[]? mappings = null;
        int[]? functions = null;
        Span<LineSym> lineBuf = stackalloc LineSym[16];
        for (var i = 0; i < result.Length; i++)
        {
            var hash = prepared.Locations[i];
            if (_locationsByContent.TryGetValue(hash.Key, out var known) && known.Check == hash.Check)
            {
                result[i] = known.Id;
                continue;
            }

            // New location: intern what it references (lazily, once per profile).
            strings ??= new int[p.StringCount];
            mappings ??= new int[p.Mappings.Length];
            functions ??= new int[p.Functions.Length];
            var l = p.Locations[i];
            var lines = l.LineCount <= lineBuf.Length ? lineBuf[..l.LineCount] : new LineSym[l.LineCount];
            for (var k = 0; k < l.LineCount; k++)
            {
                var src = p.Lines[l.FirstLine + k];
                lines[k] = new LineSym(src.Function >= 0 ? FunctionId(p, src.Function, strings, functions) : 0, src.Line);
            }

            var mapping = l.Mapping >= 0 ? MappingId(p, l.Mapping, strings, mappings) : 0;
            var id = InternLocation(mapping, l.Address, lines);
            _locationsByContent[hash.Key] = (id, hash.Check);
            result[i] = id;
        }

        return result;
    }

    /// <summary>Partition string id of the profile's string <paramref name="local"/>, memoized in <paramref name="memo"/> (0: not yet).</summary>
    public int StringId(IngestProfile p, int local, int[] memo)
    {
        if (local == 0)
        {
            return 0;
        }

        var id = memo[local];
        if (id == 0)
        {
            id = memo[local] = InternString(p.GetString(local));
        }

        return id;
    }

    private int FunctionId(IngestProfile p, int local, int[] strings, int[] memo)
    {
        var id = memo[local];
        if (id == 0)
        {
            var f = p.Functions[local];
            id = memo[local] = InternFunction(new FunctionSym(StringId(p, f.Name, strings), StringId(p, f.SystemName, strings), StringId(p, f.FileName, strings), f.StartLine));
        }

        return id;
    }

    private int MappingId(IngestProfile p, int local, int[] strings, int[] memo)
    {
        var id = memo[local];
        if (id == 0)
        {
            var m = p.Mappings[local];
            id = memo[local] = InternMapping(new MappingSym(m.Start, m.Limit, m.Offset, StringId(p, m.File, strings), StringId(p, m.BuildId, strings)));
        }

        return id;
    }

    /// <summary>Interns every symbol of an ingest profile (hashing inline); see <see cref="Prepare(IngestProfile)"/>.</summary>
    public int[] Intern(IngestProfile p) => Intern(Prepare(p));

    public int[] InternStrings(string[] strings)
    {
        var ids = new int[strings.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = InternString(strings[i]);
        }

        return ids;
    }

    public SymbolsView Snapshot()
    {
        // Dependents first: the writer publishes strings, mappings, functions and lines before the location that
        // uses them, so everything a location in this snapshot refers to is in the later (larger) snapshots.
        var (locations, locationCount) = _locations.SnapshotArray();
        var (lines, lineCount) = _lines.SnapshotArray();
        var (functions, functionCount) = _functions.SnapshotArray();
        var (mappings, mappingCount) = _mappings.SnapshotArray();
        var (strings, stringCount) = _strings.SnapshotArray();
        return new SymbolsView(strings, stringCount, mappings, mappingCount, functions, functionCount, locations, locationCount, lines, lineCount);
    }

    private readonly record struct LocationKey(int Mapping, ulong Address, int LineCount, int LinesHash);
}
