using System.Runtime.InteropServices;
using Parca.Storage.Ingest;

namespace Parca.Server.Ingest;

/// <summary>
/// The symbol tables one Arrow request builds (strings, mappings, functions, locations, lines), shared by all the
/// profiles the request becomes. Entries are added per dictionary entry of the records, never per sample.
/// </summary>
internal sealed class SymbolTable
{
    private readonly List<string> _strings = [""];
    private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal) { [""] = 0 };
    private readonly List<IngestMapping> _mappings = [];
    private readonly Dictionary<IngestMapping, int> _mappingIds = [];
    private readonly List<IngestFunction> _functions = [];
    private readonly Dictionary<IngestFunction, int> _functionIds = [];
    private readonly List<IngestLocation> _locations = [];
    private readonly List<IngestLine> _lines = [];

    public int String(string s)
    {
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_stringIds, s, out var exists);
        if (!exists)
        {
            id = _strings.Count;
            _strings.Add(s);
        }

        return id;
    }

    public string StringAt(int id) => _strings[id];

    /// <summary>
    /// A mapping known only by file and build id. Start, limit and offset stay 0, which (as in Parca) says the
    /// address is already the one to look up in the executable, so server-side symbolization needs no adjustment.
    /// </summary>
    public int Mapping(string file, string buildId, ulong start = 0, ulong limit = 0, ulong offset = 0)
    {
        var key = new IngestMapping(start, limit, offset, String(file), String(buildId));
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_mappingIds, key, out var exists);
        if (!exists)
        {
            id = _mappings.Count;
            _mappings.Add(key);
        }

        return id;
    }

    public int Function(string name, string systemName, string fileName, long startLine)
    {
        var f = new IngestFunction(String(name), String(systemName), String(fileName), startLine);
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_functionIds, f, out var exists);
        if (!exists)
        {
            id = _functions.Count;
            _functions.Add(f);
        }

        return id;
    }

    public int LineCount => _lines.Count;

    public int StringCount => _strings.Count;

    public int FunctionCount => _functions.Count;

    public int LocationCount => _locations.Count;

    public void Line(int function, long line) => _lines.Add(new IngestLine(function, line));

    /// <summary>Adds a location whose lines are the ones added since <paramref name="firstLine"/>.</summary>
    public int Location(int mapping, ulong address, int firstLine)
    {
        _locations.Add(new IngestLocation(mapping, address, firstLine, _lines.Count - firstLine));
        return _locations.Count - 1;
    }

    /// <summary>Gives a profile the tables (the arrays are shared by every profile of the request).</summary>
    public void Fill(IngestProfile p, ref Tables? tables)
    {
        tables ??= new Tables([.. _strings], [.. _mappings], [.. _functions], [.. _locations], [.. _lines]);
        p.Strings = tables.Strings;
        p.Mappings = tables.Mappings;
        p.Functions = tables.Functions;
        p.Locations = tables.Locations;
        p.Lines = tables.Lines;
    }

    internal sealed record Tables(string[] Strings, IngestMapping[] Mappings, IngestFunction[] Functions, IngestLocation[] Locations, IngestLine[] Lines);
}
