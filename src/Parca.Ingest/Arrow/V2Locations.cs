using Apache.Arrow;
using Apache.Arrow.Types;
using static Parca.Ingest.Arrow.ArrowColumns;

namespace Parca.Ingest.Arrow;

/// <summary>
/// The location dictionary of a v2 <c>stacktrace</c> column: a struct of <c>address</c> (UInt64), <c>frame_type</c>,
/// <c>mapping_file</c> and <c>mapping_build_id</c> (dictionaries of strings) and <c>lines</c> (a list view of
/// {line, column, function: dictionary of {system_name, filename, start_line}}). Each entry becomes one storage
/// location the first time a stack uses it. A location without lines (a native frame the agent did not symbolize)
/// keeps its address, mapping file and build id, which is what server-side symbolization needs later.
/// The frame type is kept where a frame has no mapping file of its own (interpreted and JIT frames: "python",
/// "ruby", "dotnet", "hotspot", "v8js", …): its mapping becomes <c>[frame type]</c>, so the UI can colour the
/// language and filters can select it; native and kernel frames keep their files.
/// </summary>
internal sealed class V2Locations
{
    private const string Column = "stacktrace";
    private readonly SymbolTable _symbols;
    private readonly ulong[] _address;
    private readonly StringIdColumn? _mappingFile;
    private readonly StringIdColumn? _buildId;
    private readonly string?[]? _frameType;
    private readonly Dictionary<string, int> _frameTypeFiles = new(StringComparer.Ordinal);
    private readonly ListViewArray? _lines;
    private readonly UInt64Array? _lineNumber;
    private readonly int[]? _lineFunction;
    private readonly int[]? _functionIds;
    private readonly StringIdColumn? _systemName;
    private readonly StringIdColumn? _fileName;
    private readonly UInt64Array? _startLine;
    private readonly int[] _ids;

    public V2Locations(SymbolTable symbols, StructArray locations)
    {
        _symbols = symbols;
        var type = (StructType)locations.Data.DataType;
        var address = FieldIndex(type, "address");
        if (address < 0)
        {
            throw Error(Column, "the location struct has no 'address' field");
        }

        var addresses = As<UInt64Array>(locations.Fields[address], Column + ".address", "UInt64");
        if (addresses.Length < locations.Length)
        {
            throw Error(Column + ".address", $"{addresses.Length} values for {locations.Length} locations");
        }

        _address = addresses.Values[..locations.Length].ToArray();
        _mappingFile = OptionalStringIds(locations, type, "mapping_file");
        _buildId = OptionalStringIds(locations, type, "mapping_build_id");
        var frameType = FieldIndex(type, "frame_type");
        _frameType = frameType < 0 ? null : DictionaryStrings(locations.Fields[frameType], Column + ".frame_type");

        var lines = FieldIndex(type, "lines");
        if (lines >= 0)
        {
            _lines = As<ListViewArray>(locations.Fields[lines], Column + ".lines", "ListView<Struct>");
            var line = As<StructArray>(_lines.Values, Column + ".lines", "ListView<Struct>");
            var lineType = (StructType)line.Data.DataType;
            var number = FieldIndex(lineType, "line");
            _lineNumber = number < 0 ? null : As<UInt64Array>(line.Fields[number], Column + ".lines.line", "UInt64");
            RequireLength(_lineNumber, line.Length, Column + ".lines.line");
            var function = FieldIndex(lineType, "function");
            if (function >= 0)
            {
                const string f = Column + ".lines.function";
                var dict = As<DictionaryArray>(line.Fields[function], f, "Dictionary<UInt32, Struct>");
                RequireLength(dict, line.Length, f);
                _lineFunction = DictionaryIndices(dict, f);
                var functions = As<StructArray>(dict.Dictionary, f, "Dictionary<UInt32, Struct>");
                var ftype = (StructType)functions.Data.DataType;
                var sys = FieldIndex(ftype, "system_name");
                _systemName = sys < 0 ? null : StringIdColumn.Plain(functions.Fields[sys], f + ".system_name", symbols);
                var file = FieldIndex(ftype, "filename");
                _fileName = file < 0 ? null : StringIdColumn.Dictionary(functions.Fields[file], f + ".filename", symbols);
                var start = FieldIndex(ftype, "start_line");
                _startLine = start < 0 ? null : As<UInt64Array>(functions.Fields[start], f + ".start_line", "UInt64");
                RequireLength(_startLine, functions.Length, f + ".start_line");
                if (_systemName?.Length < functions.Length || _fileName?.Length < functions.Length)
                {
                    throw Error(f, "a function field has fewer values than the function dictionary");
                }

                _functionIds = new int[functions.Length];
                System.Array.Fill(_functionIds, -1);
            }
        }

        if (_mappingFile?.Length < locations.Length || _buildId?.Length < locations.Length || _frameType?.Length < locations.Length)
        {
            throw Error(Column, "a mapping field has fewer values than the location dictionary");
        }

        RequireLength(_lines, locations.Length, Column + ".lines");
        _ids = new int[locations.Length];
        System.Array.Fill(_ids, -1);
    }

    public int Count => _ids.Length;

    private StringIdColumn? OptionalStringIds(StructArray locations, StructType type, string name)
    {
        var i = FieldIndex(type, name);
        return i < 0 ? null : StringIdColumn.Dictionary(locations.Fields[i], Column + "." + name, _symbols);
    }

    /// <summary>The storage location of dictionary entry <paramref name="entry"/> (already range-checked).</summary>
    public int Get(int entry)
    {
        var id = _ids[entry];
        return id >= 0 ? id : _ids[entry] = Create(entry);
    }

    private int Create(int entry)
    {
        // String ids: −1 is null, 0 is "".
        var file = _mappingFile?.At(entry) ?? -1;
        var buildId = _buildId?.At(entry) ?? -1;
        if (file <= 0 && _frameType?[entry] is { Length: > 0 } frameType && frameType is not ("native" or "kernel"))
        {
            file = FrameTypeFile(frameType);
        }

        var mapping = file < 0 && buildId < 0 ? -1 : _symbols.Mapping(Math.Max(file, 0), Math.Max(buildId, 0));
        var firstLine = _symbols.LineCount;
        if (_lines is not null)
        {
            var (offset, size) = ListViewRange(_lines, entry, Column + ".lines");
            for (var l = offset; l < offset + size; l++)
            {
                var line = _lineNumber is null || _lineNumber.IsNull(l) ? 0 : (long)Math.Min(_lineNumber.Values[l], long.MaxValue);
                _symbols.Line(Function(l), line);
            }
        }

        return _symbols.Location(mapping, _address[entry], firstLine);
    }

    private int Function(int line)
    {
        if (_lineFunction is null || _functionIds is null || _lineFunction[line] < 0)
        {
            return -1;
        }

        var f = _lineFunction[line];
        if (_functionIds[f] >= 0)
        {
            return _functionIds[f];
        }

        // v2 carries one name per function (the symbol as the agent found it): it is the name and the system name.
        var name = Math.Max(_systemName?.At(f) ?? 0, 0);
        var file = Math.Max(_fileName?.At(f) ?? 0, 0);
        var start = _startLine is null || _startLine.IsNull(f) ? 0 : (long)Math.Min(_startLine.Values[f], long.MaxValue);
        return _functionIds[f] = _symbols.Function(name, name, file, start);
    }

    /// <summary>The string id of "[frame type]", the mapping file of frames that have none of their own.</summary>
    private int FrameTypeFile(string frameType)
    {
        if (!_frameTypeFiles.TryGetValue(frameType, out var id))
        {
            _frameTypeFiles.Add(frameType, id = _symbols.String("[" + frameType + "]"));
        }

        return id;
    }
}
