using Apache.Arrow;
using static Parca.Ingest.Arrow.ArrowColumns;

namespace Parca.Ingest.Arrow;

/// <summary>
/// A string column of a record (String or Binary, or their views; plain or dictionary-encoded) read as ids of the
/// request's <see cref="SymbolTable"/>. Each distinct value is interned from its UTF-8 bytes the first time a
/// position uses it, so values nothing uses are never added and no .NET string is created.
/// </summary>
internal sealed class StringIdColumn
{
    private const int Unknown = -2;
    private readonly IArrowArray _values;
    private readonly int[]? _indices;
    private readonly int[] _ids;
    private readonly SymbolTable _symbols;

    private StringIdColumn(IArrowArray values, int[]? indices, string column, SymbolTable symbols)
    {
        if (values is not (BinaryArray or BinaryViewArray))
        {
            throw Error(column, $"expected String or Binary values, got {Describe(values.Data.DataType)}");
        }

        _values = values;
        _indices = indices;
        _symbols = symbols;
        _ids = new int[values.Length];
        System.Array.Fill(_ids, Unknown);
    }

    /// <summary>A plain string column: position i is value i.</summary>
    public static StringIdColumn Plain(IArrowArray array, string column, SymbolTable symbols) => new(array, null, column, symbols);

    /// <summary>A dictionary of strings: position i is the dictionary value its index names.</summary>
    public static StringIdColumn Dictionary(IArrowArray array, string column, SymbolTable symbols)
    {
        var dict = As<DictionaryArray>(array, column, "Dictionary<UInt32, String>");
        return new StringIdColumn(dict.Dictionary, DictionaryIndices(dict, column), column, symbols);
    }

    /// <summary>Number of positions.</summary>
    public int Length => _indices?.Length ?? _values.Length;

    /// <summary>The string id at <paramref name="position"/> (already range-checked); −1 where the value is null.</summary>
    public int At(int position)
    {
        var v = _indices is null ? position : _indices[position];
        if (v < 0)
        {
            return -1;
        }

        var id = _ids[v];
        return id != Unknown ? id : _ids[v] = Intern(v);
    }

    private int Intern(int v) => _values switch
    {
        _ when _values.IsNull(v) => -1,
        BinaryArray b => _symbols.String(b.GetBytes(v)),
        _ => _symbols.String(((BinaryViewArray)_values).GetBytes(v)),
    };
}
