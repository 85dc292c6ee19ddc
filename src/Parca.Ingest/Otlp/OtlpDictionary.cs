using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Profiles.V1Development;

namespace Parca.Ingest.Otlp;

/// <summary>
/// The request's <c>ProfilesDictionary</c>, checked once and turned into storage symbols on first use. Every table's
/// entry 0 is the zero value ("unset"), so index 0 of mapping, function, link and stack means "none"; a table
/// nothing refers to may be empty. Each entry becomes a storage symbol once per request (cached by index), never
/// per sample. A location without lines keeps address, mapping file and build id (attribute
/// <c>process.executable.build_id.gnu</c> of its mapping, as Parca reads it) for server-side symbolization.
/// </summary>
internal sealed partial class OtlpDictionary
{
    /// <summary>The mapping attribute that holds the GNU build id (OpenTelemetry semantic conventions).</summary>
    public const string BuildIdAttribute = "process.executable.build_id.gnu";

    private readonly ProfilesDictionary _d;
    private readonly SymbolTable _symbols;
    private readonly int[] _mappingIds;
    private readonly int[] _functionIds;
    private readonly int[] _locationIds;

    public OtlpDictionary(ProfilesDictionary? dictionary, SymbolTable symbols)
    {
        _d = dictionary ?? throw new IngestError("dictionary: missing (the string table needs at least its empty entry 0)");
        _symbols = symbols;
        Validate();
        _mappingIds = Unset(_d.MappingTable.Count);
        _functionIds = Unset(_d.FunctionTable.Count);
        _locationIds = Unset(_d.LocationTable.Count);
    }

    public int StackCount => _d.StackTable.Count;

    public int AttributeCount => _d.AttributeTable.Count;

    public int StringCount => _d.StringTable.Count;

    public int LinkCount => _d.LinkTable.Count;

    public string String(int index) => _d.StringTable[index];

    public KeyValueAndUnit Attribute(int index) => _d.AttributeTable[index];

    /// <summary>The storage locations of stack <paramref name="index"/> (leaf first) appended to <paramref name="target"/>.</summary>
    public void AppendStack(int index, StackBuffer target)
    {
        if (index == 0)
        {
            return; // the empty stack: the sample is stored at the root
        }

        foreach (var l in _d.StackTable[index].LocationIndices)
        {
            target.Add(Location(l));
        }
    }

    private int Location(int index)
    {
        ref var id = ref _locationIds[index];
        if (id >= 0)
        {
            return id;
        }

        var l = _d.LocationTable[index];
        var mapping = l.MappingIndex == 0 ? -1 : Mapping(l.MappingIndex);
        var first = _symbols.LineCount;
        foreach (var line in l.Lines)
        {
            // A line without a function says nothing storage can show; the location keeps its address instead.
            if (line.FunctionIndex != 0)
            {
                _symbols.Line(Function(line.FunctionIndex), line.Line_);
            }
        }

        return id = _symbols.Location(mapping, l.Address, first);
    }

    private int Mapping(int index)
    {
        ref var id = ref _mappingIds[index];
        if (id < 0)
        {
            var m = _d.MappingTable[index];
            var buildId = "";
            foreach (var a in m.AttributeIndices)
            {
                var kv = _d.AttributeTable[a];
                if (_d.StringTable[kv.KeyStrindex] == BuildIdAttribute && kv.Value.ValueCase == AnyValue.ValueOneofCase.StringValue)
                {
                    buildId = kv.Value.StringValue;
                    break;
                }
            }

            id = _symbols.Mapping(_d.StringTable[m.FilenameStrindex], buildId, m.MemoryStart, m.MemoryLimit, m.FileOffset);
        }

        return id;
    }

    private int Function(int index)
    {
        ref var id = ref _functionIds[index];
        if (id < 0)
        {
            var f = _d.FunctionTable[index];
            id = _symbols.Function(_d.StringTable[f.NameStrindex], _d.StringTable[f.SystemNameStrindex], _d.StringTable[f.FilenameStrindex], f.StartLine);
        }

        return id;
    }

    private static int[] Unset(int n)
    {
        var ids = new int[n];
        Array.Fill(ids, -1);
        return ids;
    }
}
