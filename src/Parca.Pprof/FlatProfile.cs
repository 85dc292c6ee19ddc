using System.Text;

namespace Parca.Pprof;

/// <summary>
/// The decoded form of a pprof profile that the ingest path (and the storage engine) consumes: flat
/// struct-of-arrays, string references as indices into a string table whose bytes stay in the decoded buffer,
/// and every id reference already resolved to a dense 0-based index. Produced by
/// <see cref="PprofDecoder.Decode(ReadOnlySpan{byte}, FlatProfile, PprofReadOptions?)"/>, which validates it
/// completely first: every index below is in range, every sample has exactly <see cref="SampleTypeCount"/> values.
/// </summary>
/// <remarks>
/// <para>Layout (n = <see cref="SampleCount"/>, t = <see cref="SampleTypeCount"/>):</para>
/// <list type="bullet">
/// <item><description>Stack of sample i: <c>SampleLocations[SampleLocationStarts[i] .. SampleLocationStarts[i+1]]</c>,
/// indices into <see cref="Locations"/>, leaf first. <see cref="GetStack"/> returns it.</description></item>
/// <item><description>Values of sample i: <c>SampleValues[i*t .. i*t+t]</c>, one per <see cref="SampleTypes"/> entry.</description></item>
/// <item><description>Labels of sample i: <c>Labels[SampleLabelStarts[i] .. SampleLabelStarts[i+1]]</c>.</description></item>
/// <item><description>Lines of location j: <c>Lines[Locations[j].LineStart ..][.. Locations[j].LineCount]</c>.</description></item>
/// <item><description>Strings: <see cref="GetStringUtf8"/> (no allocation) or <see cref="GetString"/>; index 0 is "".</description></item>
/// </list>
/// <para>An instance can be reused for many decodes (storage is kept and grown, so steady-state decoding does
/// not allocate). It owns a pooled buffer: <see cref="Dispose"/> returns it. Spans it hands out are valid until
/// the next decode or dispose.</para>
/// </remarks>
public sealed partial class FlatProfile : IDisposable
{
    private byte[] _data = [];
    private int _dataLength;
    private DecodeBudget? _budget;
    private long _reserved;
    private GrowBuffer<(int Offset, int Length)> _strings;
    private GrowBuffer<ValueTypeRecord> _sampleTypes;
    private GrowBuffer<int> _sampleLocationStarts;
    private GrowBuffer<ulong> _sampleLocationIds;
    private GrowBuffer<int> _sampleLocations;
    private GrowBuffer<int> _sampleValueStarts;
    private GrowBuffer<long> _sampleValues;
    private GrowBuffer<int> _sampleLabelStarts;
    private GrowBuffer<LabelRecord> _labels;
    private GrowBuffer<MappingRecord> _mappings;
    private GrowBuffer<FunctionRecord> _functions;
    private GrowBuffer<LocationRecord> _locations;
    private GrowBuffer<LineRecord> _lines;
    private GrowBuffer<long> _comments;
    private Dictionary<ulong, int>? _idMap;

    /// <summary>The protobuf bytes (inflated) the string table points into.</summary>
    public ReadOnlySpan<byte> Data => _data.AsSpan(0, _dataLength);

    /// <summary>Number of string table entries.</summary>
    public int StringCount => _strings.Count;

    /// <summary>sample_type as string indices.</summary>
    public ReadOnlySpan<ValueTypeRecord> SampleTypes => _sampleTypes.Span;

    /// <summary>Number of sample types (values per sample).</summary>
    public int SampleTypeCount => _sampleTypes.Count;

    /// <summary>Number of samples.</summary>
    public int SampleCount => _sampleLabelStarts.Count == 0 ? 0 : _sampleLabelStarts.Count - 1;

    /// <summary>Start of each sample's stack in <see cref="SampleLocations"/>; <see cref="SampleCount"/> + 1 entries.</summary>
    public ReadOnlySpan<int> SampleLocationStarts => _sampleLocationStarts.Span;

    /// <summary>All stacks back to back, as 0-based indices into <see cref="Locations"/>, each leaf first.</summary>
    public ReadOnlySpan<int> SampleLocations => _sampleLocations.Span;

    /// <summary>All sample values, <see cref="SampleTypeCount"/> per sample.</summary>
    public ReadOnlySpan<long> SampleValues => _sampleValues.Span;

    /// <summary>Start of each sample's labels in <see cref="Labels"/>; <see cref="SampleCount"/> + 1 entries.</summary>
    public ReadOnlySpan<int> SampleLabelStarts => _sampleLabelStarts.Span;

    /// <summary>All sample labels back to back.</summary>
    public ReadOnlySpan<LabelRecord> Labels => _labels.Span;

    /// <summary>mapping, in wire order.</summary>
    public ReadOnlySpan<MappingRecord> Mappings => _mappings.Span;

    /// <summary>function, in wire order.</summary>
    public ReadOnlySpan<FunctionRecord> Functions => _functions.Span;

    /// <summary>location, in wire order.</summary>
    public ReadOnlySpan<LocationRecord> Locations => _locations.Span;

    /// <summary>All location lines back to back.</summary>
    public ReadOnlySpan<LineRecord> Lines => _lines.Span;

    /// <summary>comment, as string indices.</summary>
    public ReadOnlySpan<long> Comments => _comments.Span;

    /// <summary>drop_frames string index.</summary>
    public int DropFrames { get; private set; }

    /// <summary>keep_frames string index.</summary>
    public int KeepFrames { get; private set; }

    public long TimeNanos { get; private set; }

    public long DurationNanos { get; private set; }

    /// <summary>period_type as string indices ((0, 0) when absent; see <see cref="HasPeriodType"/>).</summary>
    public ValueTypeRecord PeriodType { get; private set; }

    /// <summary>Whether period_type was present on the wire.</summary>
    public bool HasPeriodType { get; private set; }

    public long Period { get; private set; }

    /// <summary>default_sample_type string index.</summary>
    public int DefaultSampleType { get; private set; }

    /// <summary>doc_url string index.</summary>
    public int DocUrl { get; private set; }

    /// <summary>The stack of sample <paramref name="sample"/>: location indices, leaf first.</summary>
    public ReadOnlySpan<int> GetStack(int sample)
    {
        var starts = _sampleLocationStarts.Span;
        return _sampleLocations.Span[starts[sample]..starts[sample + 1]];
    }

    /// <summary>The values of sample <paramref name="sample"/>, one per sample type.</summary>
    public ReadOnlySpan<long> GetValues(int sample)
    {
        var t = _sampleTypes.Count;
        return _sampleValues.Span.Slice(sample * t, t);
    }

    /// <summary>The labels of sample <paramref name="sample"/>.</summary>
    public ReadOnlySpan<LabelRecord> GetLabels(int sample)
    {
        var starts = _sampleLabelStarts.Span;
        return _labels.Span[starts[sample]..starts[sample + 1]];
    }

    /// <summary>The lines of location <paramref name="location"/> (0-based index), inlined first, caller last.</summary>
    public ReadOnlySpan<LineRecord> GetLines(int location)
    {
        var l = _locations.Span[location];
        return _lines.Span.Slice(l.LineStart, l.LineCount);
    }

    /// <summary>The UTF-8 bytes of string <paramref name="index"/>, without allocating.</summary>
    public ReadOnlySpan<byte> GetStringUtf8(int index)
    {
        var (offset, length) = _strings.Span[index];
        return _data.AsSpan(offset, length);
    }

    /// <summary>
    /// Where string <paramref name="index"/> lies in <see cref="DataMemory"/> (consumers that keep UTF-8 ranges
    /// instead of strings, such as the storage ingest path).
    /// </summary>
    public (int Offset, int Length) GetStringRange(int index) => _strings.Span[index];

    /// <summary><see cref="Data"/> as memory; valid until the next decode or dispose, like every span handed out.</summary>
    public ReadOnlyMemory<byte> DataMemory => _data.AsMemory(0, _dataLength);

    /// <summary>String <paramref name="index"/> as a .NET string (allocates; invalid UTF-8 becomes U+FFFD).</summary>
    public string GetString(int index) => index == 0 ? "" : Encoding.UTF8.GetString(GetStringUtf8(index));

    /// <summary>Returns the pooled buffer; the instance may be reused by the next decode afterwards.</summary>
    public void Dispose()
    {
        ReturnData();
        Reset();
    }

    internal void Reset()
    {
        ReleaseBudget();
        _dataLength = 0;
        _strings.Clear();
        _sampleTypes.Clear();
        _sampleLocationStarts.Clear();
        _sampleLocationIds.Clear();
        _sampleLocations.Clear();
        _sampleValueStarts.Clear();
        _sampleValues.Clear();
        _sampleLabelStarts.Clear();
        _labels.Clear();
        _mappings.Clear();
        _functions.Clear();
        _locations.Clear();
        _lines.Clear();
        _comments.Clear();
        DropFrames = 0;
        KeepFrames = 0;
        TimeNanos = 0;
        DurationNanos = 0;
        PeriodType = default;
        HasPeriodType = false;
        Period = 0;
        DefaultSampleType = 0;
        DocUrl = 0;
    }

    /// <summary>Takes ownership of a pooled buffer holding the protobuf bytes.</summary>
    internal void SetData(byte[] pooled, int length)
    {
        if (!ReferenceEquals(pooled, _data))
        {
            ReturnData();
        }

        _data = pooled;
        _dataLength = length;
    }

    /// <summary>
    /// Hands the current pooled buffer (or a new one) of at least <paramref name="size"/> bytes to the caller, who
    /// must give it back through <see cref="SetData"/> or <see cref="PprofBuffers.Return"/>.
    /// </summary>
    internal byte[] TakeData(int size)
    {
        var data = _data;
        _data = [];
        _dataLength = 0;
        if (data.Length >= size && data.Length > 0)
        {
            return data;
        }

        if (data.Length > 0)
        {
            PprofBuffers.Return(data);
        }

        return PprofBuffers.Rent(Math.Max(size, 256));
    }

    private void ReturnData()
    {
        PprofBuffers.Return(_data);
        _data = [];
        _dataLength = 0;
    }

    /// <summary>
    /// Gives the bytes this profile reserved from <see cref="PprofReadOptions.Budget"/> back (the data stays readable):
    /// call it once the decoded profile is no longer needed but the instance is kept for reuse.
    /// </summary>
    public void ReleaseBudget()
    {
        if (_budget is { } budget)
        {
            budget.Release(_reserved);
            _budget = null;
            _reserved = 0;
        }
    }

    /// <summary>Reserves <paramref name="bytes"/> for the data about to be decoded; throws when the budget is full.</summary>
    internal void Reserve(DecodeBudget? budget, long bytes)
    {
        if (budget is null)
        {
            return;
        }

        ReleaseBudget();
        if (!budget.TryReserve(bytes))
        {
            throw new PprofException(
                PprofErrorCode.DecodeBudgetExhausted,
                "profile: " + bytes + " bytes do not fit in the in-flight decode budget of " + budget.CapacityBytes +
                " bytes (" + budget.InUseBytes + " in use by other requests); retry later");
        }

        _budget = budget;
        _reserved = bytes;
    }
}
