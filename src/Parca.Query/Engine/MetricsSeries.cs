using Parca.Storage;

namespace Parca.Query.Engine;

/// <summary>
/// A point of a QueryRange series. <see cref="HasRange"/> (non-delta types, a step holding several profiles): the
/// smallest and largest profile totals of the step and the time of the largest.
/// </summary>
public readonly record struct MetricsPoint(long TimestampNanos, long Value, double ValuePerSecond, long DurationNanos, int Count,
    bool HasRange = false, long MinValue = 0, long MaxValue = 0, long MaxTimestampNanos = 0);

/// <summary>
/// A QueryRange series: labels, points sorted by time, and (delta types only) the value and period types.
/// Points are kept as the dense per-step accumulators the query filled (no per-point objects); read them with
/// <see cref="GetPoint"/> over <see cref="BucketCount"/> (skipping empty steps, see <see cref="HasPoint"/>), or
/// materialize them with <see cref="Points"/>.
/// </summary>
public sealed class MetricsSeries
{
    private readonly RangeBucket[] _buckets;
    private readonly RangeExtremes[]? _extremes;
    private readonly long _firstBucket;
    private readonly long _step;
    private readonly bool _delta;
    private readonly bool _nanosPerSecond;

    internal MetricsSeries(LabelSet labels, RangeBucket[] buckets, RangeExtremes[]? extremes, int count, long firstBucket, long step, bool delta, (string Type, string Unit)? sampleType, (string Type, string Unit)? periodType)
    {
        Labels = labels;
        _buckets = buckets;
        _extremes = extremes;
        Count = count;
        _firstBucket = firstBucket;
        _step = step;
        _delta = delta;
        _nanosPerSecond = sampleType?.Unit == "nanoseconds";
        SampleType = sampleType;
        PeriodType = periodType;
    }

    public LabelSet Labels { get; }

    /// <summary>Number of points (non-empty steps).</summary>
    public int Count { get; }

    /// <summary>Number of steps in the queried range; steps without profiles have no point.</summary>
    public int BucketCount => _buckets.Length;

    public (string Type, string Unit)? SampleType { get; }
    public (string Type, string Unit)? PeriodType { get; }

    /// <summary>The points in time order (allocates; the service reads <see cref="GetPoint"/> instead).</summary>
    public IReadOnlyList<MetricsPoint> Points
    {
        get
        {
            var points = new MetricsPoint[Count];
            var k = 0;
            for (var i = 0; i < _buckets.Length; i++)
            {
                if (HasPoint(i))
                {
                    points[k++] = GetPoint(i);
                }
            }

            return points;
        }
    }

    /// <summary>Whether step <paramref name="bucket"/> holds a point.</summary>
    public bool HasPoint(int bucket) => _buckets[bucket].Count != 0;

    /// <summary>
    /// The point of step <paramref name="bucket"/>. Delta types: timestamp = step start, value = sum, duration = the
    /// profile's duration when the step holds one timestamp else the step. Non-delta: the step's first timestamp and its value.
    /// </summary>
    public MetricsPoint GetPoint(int bucket)
    {
        ref readonly var b = ref _buckets[bucket];
        if (!_delta)
        {
            return b.MultipleTimes && _extremes is { } extremes
                ? new MetricsPoint(b.FirstTime, b.A, b.A, 0, b.Count, true, extremes[bucket].Min, b.B, extremes[bucket].MaxTime)
                : new MetricsPoint(b.FirstTime, b.A, b.A, 0, b.Count);
        }

        var duration = b.MultipleTimes ? _step : b.B;
        var perSecond = duration == 0 ? 0 : _nanosPerSecond ? (double)b.A / duration : b.A / (duration / 1e9);
        return new MetricsPoint((_firstBucket + bucket) * _step, b.A, perSecond, duration, b.Count);
    }

    /// <summary>Delta types: the point of step i has the timestamp of the step start, in every series of the result.</summary>
    public bool TimestampIsStepStart => _delta;
}

/// <summary>
/// One step's accumulator. Delta types: A = sum of values, B = smallest duration. Non-delta: A = value at the first
/// timestamp, B = the largest profile total (its time and the smallest total are in <see cref="RangeExtremes"/>).
/// 32 bytes: the dense per-group arrays are the query's working memory and its result, and delta types (CPU, the
/// common query) need nothing more.
/// </summary>
internal struct RangeBucket
{
    public long A;
    public long B;
    public long FirstTime;
    public int Count;
    public bool MultipleTimes;
}

/// <summary>
/// Non-delta types only, parallel to <see cref="RangeBucket"/>: the time of the step's largest profile total and the
/// smallest total, kept so that downsampling does not hide peaks. A separate array so delta queries do not pay for it.
/// </summary>
internal struct RangeExtremes
{
    public long MaxTime;
    public long Min;
}
