using System.Runtime.InteropServices;
using System.Text;
using Parca.Storage.Ingest;

namespace Parca.Ingest;

/// <summary>
/// The symbol tables one Arrow or OTLP request builds (strings, mappings, functions, locations, lines), shared by all
/// the profiles the request becomes. Entries are added per dictionary entry of the records, never per sample.
/// Strings are kept as UTF-8 (see <see cref="Utf8Strings"/>): Arrow records carry them so, and storage hashes and
/// compares them so, creating a .NET string only for a symbol it has not seen before.
/// </summary>
internal sealed class SymbolTable : IDisposable
{
    private readonly Utf8Strings _strings = new();
    private readonly List<IngestMapping> _mappings = [];
    private readonly Dictionary<IngestMapping, int> _mappingIds = [];
    private readonly List<IngestFunction> _functions = [];
    private readonly Dictionary<IngestFunction, int> _functionIds = [];
    private readonly List<IngestLocation> _locations = [];
    private readonly List<IngestLine> _lines = [];

    /// <summary>The id of a string given as UTF-8 bytes (no .NET string is created).</summary>
    public int String(ReadOnlySpan<byte> utf8) => _strings.Intern(utf8);

    public int String(string s) => _strings.Intern(s);

    /// <summary>String <paramref name="id"/> as a .NET string (decoded on each call: for group keys and messages, not per row).</summary>
    public string StringAt(int id) => _strings.Decode(id);

    /// <summary>
    /// A mapping known only by file and build id. Start, limit and offset stay 0, which (as in Parca) says the
    /// address is already the one to look up in the executable, so server-side symbolization needs no adjustment.
    /// </summary>
    public int Mapping(string file, string buildId, ulong start = 0, ulong limit = 0, ulong offset = 0) =>
        Mapping(String(file), String(buildId), start, limit, offset);

    /// <summary><see cref="Mapping(string, string, ulong, ulong, ulong)"/> with string ids.</summary>
    public int Mapping(int file, int buildId, ulong start = 0, ulong limit = 0, ulong offset = 0)
    {
        var key = new IngestMapping(start, limit, offset, file, buildId);
        ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(_mappingIds, key, out var exists);
        if (!exists)
        {
            id = _mappings.Count;
            _mappings.Add(key);
        }

        return id;
    }

    public int Function(string name, string systemName, string fileName, long startLine) =>
        Function(String(name), String(systemName), String(fileName), startLine);

    /// <summary><see cref="Function(string, string, string, long)"/> with string ids.</summary>
    public int Function(int name, int systemName, int fileName, long startLine)
    {
        var f = new IngestFunction(name, systemName, fileName, startLine);
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

    /// <summary>
    /// Gives a profile the tables. The arrays are shared by every profile of the request, which is what lets storage
    /// hash them once for all (<see cref="Parca.Storage.ProfileStore.AppendAll"/>).
    /// </summary>
    public void Fill(IngestProfile p, ref Tables? tables)
    {
        tables ??= new Tables(_strings.Data, _strings.Ranges(), [.. _mappings], [.. _functions], [.. _locations], [.. _lines]);
        p.SetUtf8Strings(tables.StringData, tables.StringRanges);
        p.Mappings = tables.Mappings;
        p.Functions = tables.Functions;
        p.Locations = tables.Locations;
        p.Lines = tables.Lines;
    }

    /// <summary>Returns the strings' pooled buffer, once the request's profiles are stored: they read it until then.</summary>
    public void Dispose() => _strings.Dispose();

    internal sealed record Tables(ReadOnlyMemory<byte> StringData, IngestStringRange[] StringRanges, IngestMapping[] Mappings, IngestFunction[] Functions, IngestLocation[] Locations, IngestLine[] Lines);

    /// <summary>Decodes a string the way Arrow readers do (invalid UTF-8 becomes U+FFFD).</summary>
    internal static string Decode(ReadOnlySpan<byte> utf8) => utf8.IsEmpty ? "" : Encoding.UTF8.GetString(utf8);
}
