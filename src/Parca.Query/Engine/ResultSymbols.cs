using Parca.Storage.Symbols;

namespace Parca.Query.Engine;

/// <summary>
/// The symbol tables of a query result: symbols of all partitions touched, deduplicated by content, with the same
/// conventions as storage (index 0 = "" / none). Partitions are imported through per-partition id maps.
/// </summary>
/// <remarks>
/// A partition's symbols are already deduplicated by content (its symbol database interns each kind), so the first
/// partition imported into empty tables cannot bring two equal entries: it appends without hashing or building
/// location keys (half of a one-partition merge's time before). The content indices are built only when something
/// has to look up — a second partition, frame filters, query-time symbolization — from what was appended so far.
/// </remarks>
public sealed class ResultSymbols
{
    private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal) { [""] = 0 };
    private readonly Dictionary<MappingSym, int> _mappingIds = [];
    private readonly Dictionary<FunctionSym, int> _functionIds = [];
    private readonly Dictionary<(int Mapping, ulong Address, string Lines), int> _locationIds = [];
    private Importer? _direct; // the importer appending unindexed entries, if any
    private bool _anyImporter;

    public List<string> Strings { get; } = [""];
    public List<MappingSym> Mappings { get; } = [default];
    public List<FunctionSym> Functions { get; } = [default];
    public List<LocationSym> Locations { get; } = [default];
    public List<LineSym> Lines { get; } = [];

    /// <summary>
    /// Per location: a frame filter hid its outermost line (the function the others were inlined into), so every line
    /// it still has is an inlined function.
    /// </summary>
    public List<bool> CallerLineHidden { get; } = [false];

    /// <summary>Whether line <paramref name="line"/> of a location is a function inlined into the next one.</summary>
    public bool IsInlined(int location, int line)
    {
        var loc = Locations[location];
        return line >= 0 && (line < loc.LineCount - 1 || (line < loc.LineCount && CallerLineHidden[location]));
    }

    public string String(int id) => Strings[id];

    public IEnumerable<LineSym> LinesOf(LocationSym loc)
    {
        for (var i = 0; i < loc.LineCount; i++)
        {
            yield return Lines[loc.FirstLine + i];
        }
    }

    /// <summary>Function name of a location's outermost line (its own function), or "" when unsymbolized.</summary>
    public string FunctionName(int location)
    {
        var loc = Locations[location];
        return loc.LineCount == 0 ? "" : String(Functions[Lines[loc.FirstLine + loc.LineCount - 1].Function].Name);
    }

    /// <summary>
    /// Gives location <paramref name="location"/> (one without lines) the frames a symbolizer found, innermost first
    /// as stored locations list them: query-time symbolization of native frames uploaded debuginfo can name.
    /// </summary>
    public void SetLines(int location, IReadOnlyList<(string Name, string SystemName, string File, long Line)> frames)
    {
        EndDirect();
        var loc = Locations[location];
        var first = Lines.Count;
        foreach (var (name, systemName, file, line) in frames)
        {
            var key = new FunctionSym(InternString(name), InternString(systemName), InternString(file), 0);
            if (!_functionIds.TryGetValue(key, out var f))
            {
                f = Functions.Count;
                Functions.Add(key);
                _functionIds.Add(key, f);
            }

            Lines.Add(new LineSym(f, line));
        }

        Locations[location] = loc with { FirstLine = first, LineCount = frames.Count };
    }

    internal int InternString(string s)
    {
        EndDirect();
        if (!_stringIds.TryGetValue(s, out var id))
        {
            id = Strings.Count;
            Strings.Add(s);
            _stringIds.Add(s, id);
        }

        return id;
    }

    /// <summary>Brings the content indices up to date with the appended entries; from now on every import looks up.</summary>
    private void EndDirect()
    {
        if (_direct is null)
        {
            return;
        }

        _direct = null;
        _stringIds.EnsureCapacity(Strings.Count);
        for (var i = 1; i < Strings.Count; i++)
        {
            _stringIds.TryAdd(Strings[i], i);
        }

        for (var i = 1; i < Mappings.Count; i++)
        {
            _mappingIds.TryAdd(Mappings[i], i);
        }

        _functionIds.EnsureCapacity(Functions.Count);
        for (var i = 1; i < Functions.Count; i++)
        {
            _functionIds.TryAdd(Functions[i], i);
        }

        _locationIds.EnsureCapacity(Locations.Count);
        for (var i = 1; i < Locations.Count; i++)
        {
            var loc = Locations[i];
            _locationIds.TryAdd((loc.Mapping, loc.Address, LocationKey(Lines, loc.FirstLine, loc.LineCount, CallerLineHidden[i])), i);
        }
    }

    /// <summary>The lines part of a location's content key (result function ids, so equal content gives equal keys).</summary>
    private static string LocationKey(List<LineSym> lines, int first, int count, bool callerHidden)
    {
        var keyText = new System.Text.StringBuilder();
        for (var i = first; i < first + count; i++)
        {
            keyText.Append(lines[i].Function).Append(':').Append(lines[i].Line).Append(';');
        }

        if (callerHidden)
        {
            keyText.Append('^');
        }

        return keyText.ToString();
    }

    internal sealed class Importer
    {
        private readonly ResultSymbols _r;
        private readonly SymbolsView _src;
        private readonly int[] _strings;
        private readonly int[] _mappings;
        private readonly int[] _functions;
        private readonly int[] _locations;
        private readonly HashSet<int> _imported = [];

        public Importer(ResultSymbols r, SymbolsView src)
        {
            _r = r;
            _src = src;
            _strings = new int[src.StringCount];
            _mappings = new int[src.MappingCount];
            _functions = new int[src.FunctionCount];
            _locations = new int[src.LocationCount];
            if (!r._anyImporter && r.Strings.Count == 1 && r.Mappings.Count == 1 && r.Functions.Count == 1 && r.Locations.Count == 1)
            {
                r._direct = this; // empty tables, a content-deduplicated source: nothing to look up
            }
            else
            {
                r.EndDirect();
            }

            r._anyImporter = true;
        }

        private bool Direct => ReferenceEquals(_r._direct, this);

        public int String(int id)
        {
            if (id == 0)
            {
                return 0;
            }

            var m = _strings[id];
            if (m == 0)
            {
                if (Direct)
                {
                    m = _r.Strings.Count;
                    _r.Strings.Add(_src.String(id));
                }
                else
                {
                    m = _r.InternString(_src.String(id));
                }

                _strings[id] = m;
            }

            return m;
        }

        private int Mapping(int id)
        {
            if (id == 0)
            {
                return 0;
            }

            var m = _mappings[id];
            if (m == 0)
            {
                var s = _src.Mappings[id];
                var key = new MappingSym(s.Start, s.Limit, s.Offset, String(s.File), String(s.BuildId));
                if (Direct)
                {
                    m = _r.Mappings.Count;
                    _r.Mappings.Add(key);
                }
                else if (!_r._mappingIds.TryGetValue(key, out m))
                {
                    m = _r.Mappings.Count;
                    _r.Mappings.Add(key);
                    _r._mappingIds.Add(key, m);
                }

                _mappings[id] = m;
            }

            return m;
        }

        private int Function(int id)
        {
            if (id == 0)
            {
                return 0;
            }

            var m = _functions[id];
            if (m == 0)
            {
                var s = _src.Functions[id];
                var key = new FunctionSym(String(s.Name), String(s.SystemName), String(s.FileName), s.StartLine);
                if (Direct)
                {
                    m = _r.Functions.Count;
                    _r.Functions.Add(key);
                }
                else if (!_r._functionIds.TryGetValue(key, out m))
                {
                    m = _r.Functions.Count;
                    _r.Functions.Add(key);
                    _r._functionIds.Add(key, m);
                }

                _functions[id] = m;
            }

            return m;
        }

        public int Location(int id)
        {
            var m = _locations[id];
            if (m != 0 || id == 0)
            {
                return m;
            }

            if (Direct)
            {
                m = Append(_src.Locations[id]); // a new result location for each source location: Distinct holds
            }
            else
            {
                m = Import(id, default);
                Distinct &= _imported.Add(m);
            }

            _locations[id] = m;
            return m;
        }

        private int Append(in LocationSym s)
        {
            var m = _r.Locations.Count;
            var first = _r.Lines.Count;
            foreach (var l in _src.LinesOf(s))
            {
                _r.Lines.Add(new LineSym(Function(l.Function), l.Line));
            }

            _r.Locations.Add(new LocationSym(Mapping(s.Mapping), s.Address, first, s.LineCount));
            _r.CallerLineHidden.Add(false);
            return m;
        }

        /// <summary>
        /// Every location this importer brings in whole becomes a new result location (it appends to tables that were
        /// empty), so <see cref="Distinct"/> holds without importing first.
        /// </summary>
        public bool KnownDistinct => Direct;

        /// <summary>Whether the source locations imported whole so far all became different result locations.</summary>
        public bool Distinct { get; private set; } = true;

        /// <summary>
        /// Imports location <paramref name="id"/> with only the lines whose <paramref name="keepLines"/> entry is
        /// true (frame filters); not memoized here, the caller keeps one result per source location.
        /// </summary>
        public int Location(int id, ReadOnlySpan<bool> keepLines)
        {
            _r.EndDirect(); // hidden lines can make two source locations equal: only a lookup can tell
            return Import(id, keepLines);
        }

        private int Import(int id, ReadOnlySpan<bool> keepLines)
        {
            var s = _src.Locations[id];
            var mapping = Mapping(s.Mapping);
            var lines = new List<LineSym>(s.LineCount);
            for (var i = 0; i < s.LineCount; i++)
            {
                if (!keepLines.IsEmpty && !keepLines[i])
                {
                    continue;
                }

                var l = _src.Lines[s.FirstLine + i];
                lines.Add(new LineSym(Function(l.Function), l.Line));
            }

            var callerHidden = !keepLines.IsEmpty && s.LineCount > 0 && !keepLines[s.LineCount - 1];
            var key = (mapping, s.Address, LocationKey(lines, 0, lines.Count, callerHidden));
            if (!_r._locationIds.TryGetValue(key, out var m))
            {
                m = _r.Locations.Count;
                _r.Locations.Add(new LocationSym(mapping, s.Address, _r.Lines.Count, lines.Count));
                _r.Lines.AddRange(lines);
                _r.CallerLineHidden.Add(callerHidden);
                _r._locationIds.Add(key, m);
            }

            return m;
        }
    }
}
