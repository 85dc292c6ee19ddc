using Apache.Arrow;
using Apache.Arrow.Types;
using static Parca.Ingest.Arrow.ArrowColumns;

namespace Parca.Ingest.Arrow;

/// <summary>
/// The v1 locations record's <c>locations</c> column: per stack a list of location structs (leaf first) with
/// run-end encoded mapping fields and a list of lines (function name, system name, file name, start line).
/// Each stack's locations become storage locations; storage deduplicates them by content.
/// </summary>
internal sealed class V1Locations
{
    private const string Column = "locations";
    private readonly SymbolTable _symbols;
    private readonly ListArray _list;
    private readonly ulong[] _address;
    private readonly long[]? _start;
    private readonly long[]? _limit;
    private readonly long[]? _offset;
    private readonly string?[]? _file;
    private readonly string?[]? _buildId;
    private readonly ListArray? _lines;
    private readonly Int64Array? _lineNumber;
    private readonly string?[]? _name;
    private readonly string?[]? _systemName;
    private readonly string?[]? _fileName;
    private readonly Int64Array? _startLine;

    public V1Locations(SymbolTable symbols, IArrowArray column)
    {
        _symbols = symbols;
        _list = As<ListArray>(column, Column, "List<Struct>");
        var loc = As<StructArray>(_list.Values, Column, "List<Struct>");
        var n = loc.Length;
        var type = (StructType)loc.Data.DataType;
        var address = FieldIndex(type, "address");
        if (address < 0)
        {
            throw Error(Column, "the location struct has no 'address' field");
        }

        var addresses = As<UInt64Array>(loc.Fields[address], Column + ".address", "UInt64");
        RequireLength(addresses, n, Column + ".address");
        _address = addresses.Values[..n].ToArray();
        _start = Numbers(loc, type, "mapping_start", n);
        _limit = Numbers(loc, type, "mapping_limit", n);
        _offset = Numbers(loc, type, "mapping_offset", n);
        _file = StringsOf(loc, type, "mapping_file", n);
        _buildId = StringsOf(loc, type, "mapping_build_id", n);

        var lines = FieldIndex(type, "lines");
        if (lines >= 0)
        {
            _lines = As<ListArray>(loc.Fields[lines], Column + ".lines", "List<Struct>");
            RequireLength(_lines, n, Column + ".lines");
            var line = As<StructArray>(_lines.Values, Column + ".lines", "List<Struct>");
            var lt = (StructType)line.Data.DataType;
            var m = line.Length;
            var number = FieldIndex(lt, "line");
            _lineNumber = number < 0 ? null : As<Int64Array>(line.Fields[number], Column + ".lines.line", "Int64");
            RequireLength(_lineNumber, m, Column + ".lines.line");
            var name = FieldIndex(lt, "function_name");
            _name = name < 0 ? null : DictionaryStrings(line.Fields[name], Column + ".lines.function_name");
            var sys = FieldIndex(lt, "function_system_name");
            _systemName = sys < 0 ? null : DictionaryStrings(line.Fields[sys], Column + ".lines.function_system_name");
            _fileName = StringsOf(line, lt, "function_filename", m);
            var start = FieldIndex(lt, "function_start_line");
            _startLine = start < 0 ? null : As<Int64Array>(line.Fields[start], Column + ".lines.function_start_line", "Int64");
            RequireLength(_startLine, m, Column + ".lines.function_start_line");
            if (_name?.Length < m || _systemName?.Length < m)
            {
                throw Error(Column + ".lines", "a function field has fewer values than there are lines");
            }
        }
    }

    public int Rows => _list.Length;

    /// <summary>The storage locations of row <paramref name="row"/>'s stack, leaf first.</summary>
    public int[] Stack(int row)
    {
        if (_list.IsNull(row))
        {
            return [];
        }

        var (first, end) = Range(_list, row, Column);
        var result = new int[end - first];
        for (var i = first; i < end; i++)
        {
            result[i - first] = Location(i);
        }

        return result;
    }

    private static (int First, int End) Range(ListArray list, int row, string column)
    {
        var offsets = list.ValueOffsets;
        var first = offsets[row];
        var end = offsets[row + 1];
        if (first < 0 || end < first || end > list.Values.Length)
        {
            throw Error(column, $"list at row {row} ({first}..{end}) lies outside its {list.Values.Length} values");
        }

        return (first, end);
    }

    private int Location(int i)
    {
        var file = _file?[i];
        var buildId = _buildId?[i];
        var hasMapping = file is not null || buildId is not null;
        var mapping = hasMapping
            ? _symbols.Mapping(file ?? "", buildId ?? "", (ulong)(_start?[i] ?? 0), (ulong)(_limit?[i] ?? 0), (ulong)(_offset?[i] ?? 0))
            : -1;
        var firstLine = _symbols.LineCount;
        if (_lines is not null && !_lines.IsNull(i))
        {
            var (first, end) = Range(_lines, i, Column + ".lines");
            for (var l = first; l < end; l++)
            {
                var name = _name?[l];
                var sys = _systemName?[l];
                var function = name is null && sys is null
                    ? -1
                    : _symbols.Function(name ?? sys ?? "", sys ?? name ?? "", _fileName?[l] ?? "", _startLine is null || _startLine.IsNull(l) ? 0 : _startLine.Values[l]);
                _symbols.Line(function, _lineNumber is null || _lineNumber.IsNull(l) ? 0 : _lineNumber.Values[l]);
            }
        }

        return _symbols.Location(mapping, _address[i], firstLine);
    }

    /// <summary>A run-end encoded UInt64 field expanded to one value per position (absent: null).</summary>
    private static long[]? Numbers(StructArray s, StructType type, string name, int n)
    {
        var i = FieldIndex(type, name);
        if (i < 0)
        {
            return null;
        }

        var column = Column + "." + name;
        var runs = SampleRows.Numbers(s.Fields[i], column, n);
        var result = new long[n];
        for (var p = 0; p < n; p++)
        {
            result[p] = runs.At(p);
        }

        return result;
    }

    /// <summary>A run-end encoded dictionary-of-binary field expanded to one string per position (absent: null).</summary>
    private static string?[]? StringsOf(StructArray s, StructType type, string name, int n)
    {
        var i = FieldIndex(type, name);
        if (i < 0)
        {
            return null;
        }

        var column = Column + "." + name;
        var ree = As<RunEndEncodedArray>(s.Fields[i], column, "RunEndEncoded<Int32, Dictionary<UInt32, Binary>>");
        var ends = RunEnds(ree, column, n);
        var values = ree.Values is DictionaryArray ? DictionaryStrings(ree.Values, column) : Strings(ree.Values, column);
        var result = new string?[n];
        var run = 0;
        for (var p = 0; p < n; p++)
        {
            while (p >= ends[run])
            {
                run++;
            }

            var v = values[run];
            result[p] = string.IsNullOrEmpty(v) ? null : v;
        }

        return result;
    }
}
