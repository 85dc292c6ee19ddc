using Parca.Storage;

namespace Parca.Query.Engine;

public sealed partial class QueryEngine
{
    private const long MaxBuckets = 10_000_000;

    /// <summary>Steps × series a query may accumulate (32 bytes each, 48 for non-delta types: at most 640–960 MB of working memory).</summary>
    internal long MaxRangePoints { get; set; } = 20_000_000;

    /// <summary>
    /// QueryRange with Parca's semantics. Delta types: buckets of <paramref name="stepNanos"/> grouped by the
    /// <paramref name="sumBy"/> labels (value = sum, count = profiles, duration = the profile's duration when the bucket
    /// holds one timestamp else the step, value_per_second = value / duration). Non-delta types: one series per label set,
    /// per bucket the first timestamp's value; <paramref name="sumBy"/> ignored. Inclusive time range.
    /// </summary>
    public IReadOnlyList<MetricsSeries> QueryRange(string query, long startNanos, long endNanos, long stepNanos, IReadOnlyList<string>? sumBy) =>
        QueryRange(query, startNanos, endNanos, stepNanos, sumBy, int.MaxValue, default);

    /// <summary>QueryRange with a bound on the series it returns and the caller's cancellation.</summary>
    public IReadOnlyList<MetricsSeries> QueryRange(string query, long startNanos, long endNanos, long stepNanos, IReadOnlyList<string>? sumBy, int maxGroups, CancellationToken cancellationToken)
    {
        var selector = ParseSelector(query);
        ValidateSumBy(sumBy);
        if (endNanos < startNanos)
        {
            throw new QueryException(QueryErrorKind.InvalidArgument, "start must be before or equal to end");
        }

        stepNanos = EffectiveStep(startNanos, endNanos, stepNanos);

        var firstBucket = FloorDiv(startNanos, stepNanos);
        var bucketCount = FloorDiv(endNanos, stepNanos) - firstBucket + 1;
        if (bucketCount > MaxBuckets)
        {
            throw new QueryException(QueryErrorKind.InvalidArgument, $"step {stepNanos}ns is too small for the range: {bucketCount} points (max {MaxBuckets})");
        }

        var type = selector.Type;
        var convert = ConvertsToPeriod(type);
        var delta = type.Delta;
        var names = delta ? (sumBy ?? []) : null;

        // Dense group ids: one dictionary lookup per (partition, series), then plain array work per profile row.
        var groupIds = new Dictionary<LabelSet, int>();
        var groupLabels = new List<LabelSet>();
        var groupBuckets = new List<RangeBucket[]>();
        var groupExtremes = new List<RangeExtremes[]?>();
        var scan = new RangeScan(startNanos, endNanos, stepNanos, firstBucket, convert, delta);
        bool[]? carried = null;
        foreach (var p in _store.Partitions)
        {
            if (p.MaxTimeNanos < startNanos || p.MinTimeNanos > endNanos)
            {
                continue;
            }

            var view = p.View();
            foreach (var s in SeriesMatcher.Match(view, selector, cancellationToken, ref _seriesExamined))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var series = view.Series.GetSeries(s);
                if (names is not null)
                {
                    NoteCarried(series.Labels, names, carried ??= new bool[names.Count]);
                }

                var key = names is null ? series.Labels : Project(series.Labels, names);
                if (!groupIds.TryGetValue(key, out var g))
                {
                    g = groupLabels.Count;
                    if (g >= maxGroups)
                    {
                        throw new QueryException(QueryErrorKind.ResourceExhausted,
                            $"the query produces more than {maxGroups} series (the limit, --query-max-groups); narrow the selector or sum_by fewer labels");
                    }

                    if ((g + 1) * bucketCount > MaxRangePoints)
                    {
                        throw new QueryException(QueryErrorKind.InvalidArgument,
                            $"step {stepNanos}ns is too small for {g + 1}+ series over the range: {bucketCount} points each (max {MaxRangePoints} points in all); use a larger step or fewer sum_by labels");
                    }

                    groupIds.Add(key, g);
                    groupLabels.Add(key);
                    groupBuckets.Add(new RangeBucket[bucketCount]);
                    groupExtremes.Add(delta ? null : new RangeExtremes[bucketCount]);
                }

                scan.Add(view.Rows, series.ProfileRows, groupBuckets[g], groupExtremes[g]);
            }
        }

        var resultType = convert ? (type.PeriodType, type.PeriodUnit) : (type.SampleType, type.SampleUnit);
        var result = new List<(string Key, MetricsSeries Series)>(groupLabels.Count);
        for (var g = 0; g < groupLabels.Count; g++)
        {
            var buckets = groupBuckets[g];
            var count = 0;
            foreach (ref readonly var b in buckets.AsSpan())
            {
                count += b.Count == 0 ? 0 : 1;
            }

            if (count > 0)
            {
                var series = delta
                    ? new MetricsSeries(groupLabels[g], buckets, null, count, firstBucket, stepNanos, true, resultType, (type.PeriodType, type.PeriodUnit))
                    : new MetricsSeries(groupLabels[g], buckets, groupExtremes[g], count, firstBucket, stepNanos, false, null, null);
                result.Add((groupLabels[g].ToString(), series));
            }
        }

        if (result.Count == 0)
        {
            throw new QueryException(QueryErrorKind.NotFound, "No data found for the query, try a different query or time range or no data has been written to be queried yet.");
        }

        if (carried is not null && Array.IndexOf(carried, false) is var missing and >= 0)
        {
            // Summing by a label no selected series has gives one group without it: almost always a typo.
            throw new QueryException(QueryErrorKind.InvalidArgument,
                $"sum_by label '{names![missing]}' is not a label of any selected series");
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        var sorted = new MetricsSeries[result.Count];
        for (var i = 0; i < sorted.Length; i++)
        {
            sorted[i] = result[i].Series;
        }

        return sorted;
    }

    private static void ValidateSumBy(IReadOnlyList<string>? sumBy)
    {
        foreach (var name in sumBy ?? [])
        {
            if (!IsLabelName(name))
            {
                throw new QueryException(QueryErrorKind.InvalidArgument, $"sum_by: '{name}' is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)");
            }
        }
    }

    private static bool IsLabelName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static void NoteCarried(LabelSet labels, IReadOnlyList<string> names, bool[] carried)
    {
        for (var i = 0; i < names.Count; i++)
        {
            carried[i] |= labels.Get(names[i]) is not null;
        }
    }

    /// <summary>The step QueryRange uses: the requested one, or (start, end) split into 300 steps when unset.</summary>
    internal static long EffectiveStep(long startNanos, long endNanos, long stepNanos) =>
        stepNanos > 0 ? stepNanos : Math.Max(1, (endNanos - startNanos) / 300);

    private static LabelSet Project(LabelSet labels, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return LabelSet.Empty;
        }

        var kept = new List<Label>(names.Count);
        foreach (var n in names)
        {
            var v = labels.Get(n);
            if (v is not null && !kept.Exists(l => l.Name == n))
            {
                kept.Add(new Label(n, v));
            }
        }

        return LabelSet.From(kept);
    }

    internal static long FloorDiv(long a, long b) => a >= 0 ? a / b : ((a + 1) / b) - 1;

    /// <summary>
    /// Adds profile rows to a group's step accumulators. Rows of a series are (nearly always) in time order, so the
    /// current step's bounds are kept and the division only runs when a row leaves them.
    /// </summary>
    private readonly struct RangeScan(long start, long end, long step, long firstBucket, bool convert, bool delta)
    {
        /// <param name="extremes">Non-delta types: the steps' peak times and smallest totals; null for delta types.</param>
        public void Add(ReadOnlySpan<ProfileRow> rows, ReadOnlySpan<int> rowIds, RangeBucket[] buckets, RangeExtremes[]? extremes)
        {
            long lo = 1, hi = 0; // empty: the first row computes its step
            var index = 0;
            foreach (var r in rowIds)
            {
                if ((uint)r >= (uint)rows.Length)
                {
                    continue;
                }

                ref readonly var row = ref rows[r];
                var t = row.TimeNanos;
                if (t < start || t > end)
                {
                    continue;
                }

                if (t < lo || t > hi)
                {
                    var bucket = FloorDiv(t, step);
                    index = (int)(bucket - firstBucket);
                    lo = bucket * step;
                    hi = lo + step - 1;
                }

                var value = convert && row.Period != 0 ? Checked.Multiply(row.Total, row.Period) : row.Total;
                ref var b = ref buckets[index];
                if (b.Count == 0)
                {
                    b.FirstTime = t;
                    b.A = value;
                    b.B = delta ? row.DurationNanos : value;
                    if (extremes is not null)
                    {
                        extremes[index] = new RangeExtremes { MaxTime = t, Min = value };
                    }
                }
                else if (delta)
                {
                    b.A = Checked.Add(b.A, value);
                    b.B = Math.Min(b.B, row.DurationNanos);
                    b.MultipleTimes |= t != b.FirstTime;
                }
                else
                {
                    // Min and max are per profile (a series has one profile per timestamp).
                    b.MultipleTimes |= t != b.FirstTime;
                    ref var e = ref extremes![index];
                    if (value > b.B)
                    {
                        b.B = value;
                        e.MaxTime = t;
                    }

                    e.Min = Math.Min(e.Min, value);
                    if (t == b.FirstTime)
                    {
                        b.A = Checked.Add(b.A, value);
                    }
                    else if (t < b.FirstTime)
                    {
                        b.FirstTime = t;
                        b.A = value;
                    }
                }

                b.Count++;
            }
        }
    }
}
