using System.Buffers;
using Parca.Query.Selectors;
using Parca.Storage;

namespace Parca.Query.Engine;

/// <summary>Which profiles a query (or one side of a diff) selects.</summary>
public sealed record ProfileSelection(string Query, long StartNanos, long EndNanos, bool Single)
{
    /// <summary>All profiles in [start, end] (inclusive; start == end selects one timestamp).</summary>
    public static ProfileSelection Merge(string query, long startNanos, long endNanos) => new(query, startNanos, endNanos, false);

    /// <summary>The profiles at exactly this time (millisecond precision, as Parca).</summary>
    public static ProfileSelection At(string query, long timeNanos) => new(query, timeNanos, timeNanos, true);
}

public sealed partial class QueryEngine
{
    /// <summary>Merges every selected profile into one (MODE_MERGE / MODE_SINGLE).</summary>
    public MergeResult Query(ProfileSelection selection, ProfileQueryOptions? options = null)
    {
        options ??= ProfileQueryOptions.Default;
        options.Validate();
        var selector = ParseSelector(selection.Query);
        var result = NewResult(selector, selection, options);
        var builder = new MergeBuilder(result, options);
        var found = Accumulate(selector, selection, options, builder, result, isBase: false);
        if (found == 0 && selection.Single)
        {
            throw new QueryException(QueryErrorKind.NotFound, "could not find profile at requested time and selectors");
        }

        KeepCountsWithoutPeriod(result);
        result.Tree.Complete();
        return result;
    }

    /// <summary>MODE_DIFF: B's values with diff = B − A; relative (default) scales the smaller total up to the larger.</summary>
    public MergeResult Diff(ProfileSelection a, ProfileSelection b, bool absolute, ProfileQueryOptions? options = null)
    {
        options ??= ProfileQueryOptions.Default;
        options.Validate();
        var selectorA = ParseSelector(a.Query);
        var selectorB = ParseSelector(b.Query);
        RequireSameMeasure(selectorA.Type, selectorB.Type);
        var result = NewResult(selectorB, b, options);
        result.IsDiff = true;
        var builder = new MergeBuilder(result, options);
        var foundB = Accumulate(selectorB, b, options, builder, result, isBase: false);
        var foundA = Accumulate(selectorA, a, options, builder, result, isBase: true);
        if ((foundA == 0 && a.Single) || (foundB == 0 && b.Single))
        {
            throw new QueryException(QueryErrorKind.NotFound, "could not find profile at requested time and selectors");
        }

        KeepCountsWithoutPeriod(result);
        result.Tree.Complete();

        if (!absolute && result.Total != 0 && result.BaseTotal != 0)
        {
            if (result.BaseTotal < result.Total)
            {
                result.BaseScale = (double)result.Total / result.BaseTotal;
            }
            else if (result.Total < result.BaseTotal)
            {
                result.ValueScale = (double)result.BaseTotal / result.Total;
            }
        }

        return result;
    }

    /// <summary>
    /// A diff subtracts A's values from B's: both must measure the same thing in the same unit (CPU nanoseconds minus
    /// heap bytes means nothing). Samples/count are compared as what they are reported in (the period type).
    /// </summary>
    private static void RequireSameMeasure(ProfileType a, ProfileType b)
    {
        var (ta, ua) = ReportedMeasure(a);
        var (tb, ub) = ReportedMeasure(b);
        if (ta != tb || ua != ub)
        {
            throw new QueryException(QueryErrorKind.InvalidArgument,
                $"cannot diff different sample types: diff.a is {ta} in {ua} ({a}), diff.b is {tb} in {ub} ({b}); compare profiles of the same type");
        }
    }

    private static (string Type, string Unit) ReportedMeasure(ProfileType t) =>
        ConvertsToPeriod(t) ? (t.PeriodType, t.PeriodUnit) : (t.SampleType, t.SampleUnit);

    /// <summary>
    /// samples/count types are reported as period_type/period_unit (value × period, as Parca). When no selected profile
    /// has a period there is nothing to convert with: the values stay counts, so the result must say so.
    /// </summary>
    private static void KeepCountsWithoutPeriod(MergeResult result)
    {
        if (result.Period == 0 && ConvertsToPeriod(result.QueryType))
        {
            result.SampleType = result.QueryType.SampleType;
            result.SampleUnit = result.QueryType.SampleUnit;
        }
    }

    private static MergeResult NewResult(Selector selector, ProfileSelection selection, ProfileQueryOptions options)
    {
        var type = selector.Type;
        var convert = ConvertsToPeriod(type);
        return new MergeResult
        {
            QueryType = type,
            SampleType = convert ? type.PeriodType : type.SampleType,
            SampleUnit = convert ? type.PeriodUnit : type.SampleUnit,
            TimeNanos = selection.StartNanos,
            DurationNanos = selection.EndNanos - selection.StartNanos,
            GroupBy = options.GroupBy,
        };
    }

    private int Accumulate(Selector selector, ProfileSelection selection, ProfileQueryOptions options, MergeBuilder builder, MergeResult result, bool isBase)
    {
        var convert = ConvertsToPeriod(selector.Type);
        var groupLabels = options.GroupByLabels();
        // Flame charts: every profile is its own group at its timestamp, folded as soon as it is read, so the
        // working memory stays one accumulator per label group however many profiles the range holds.
        var byTime = options.GroupBy.Contains("timestamp");
        var profiles = 0;
        foreach (var p in _store.Partitions)
        {
            if (p.MaxTimeNanos < selection.StartNanos || p.MinTimeNanos > selection.EndNanos)
            {
                continue;
            }

            var view = p.View();
            var series = SeriesMatcher.Match(view, selector, options.CancellationToken, ref _seriesExamined);
            if (series.Count == 0)
            {
                continue;
            }

            var state = builder.Begin(view);
            var acc = new GroupAccumulators(view.Tree.Count, options.MaxGroups, trackDirty: byTime);
            try
            {
                var anySampleLabels = false;
                foreach (var s in series)
                {
                    var entry = view.Series.GetSeries(s);
                    foreach (var l in entry.Labels.Labels)
                    {
                        result.LabelNames.Add(l.Name);
                    }

                    var seriesGroup = groupLabels.Count == 0 ? null : Project(entry.Labels, groupLabels);
                    var missingFromSeries = seriesGroup is not null && seriesGroup.Count < groupLabels.Count;
                    foreach (var r in entry.ProfileRows)
                    {
                        if (r >= view.RowCount)
                        {
                            continue;
                        }

                        ref readonly var row = ref view.Rows[r];
                        if (!Selected(row.TimeNanos, selection))
                        {
                            continue;
                        }

                        options.CancellationToken.ThrowIfCancellationRequested();

                        profiles++;
                        anySampleLabels |= row.HasSampleLabels;
                        result.Period = Math.Max(result.Period, row.Period);
                        var multiplier = convert && row.Period != 0 ? row.Period : 1;
                        if (missingFromSeries && row.HasSampleLabels)
                        {
                            AccumulateBySampleLabels(view, row, seriesGroup!, groupLabels, multiplier, acc);
                        }
                        else
                        {
                            view.Accumulate(row, acc.For(seriesGroup), multiplier);
                        }

                        if (byTime)
                        {
                            foreach (var (group, values) in acc.Dirty)
                            {
                                builder.Fold(state, values.AsSpan(0, view.Tree.Count), builder.GroupRoot(group, row.TimeNanos), isBase);
                            }

                            acc.Clear();
                        }
                    }
                }

                if (anySampleLabels)
                {
                    for (var set = 1; set < view.SampleLabels.SetCount; set++)
                    {
                        foreach (var l in view.SampleLabels.Get(set))
                        {
                            result.LabelNames.Add(view.Symbols.String(l.Key));
                        }
                    }
                }

                if (!byTime) // by time, every profile was folded as it was read
                {
                    foreach (var (group, values) in acc.All)
                    {
                        builder.Fold(state, values.AsSpan(0, view.Tree.Count), builder.GroupRoot(group), isBase);
                    }
                }
            }
            finally
            {
                acc.Return();
            }
        }

        if (!isBase)
        {
            result.ProfileCount += profiles;
        }

        return profiles;
    }

    private static bool Selected(long t, ProfileSelection s) =>
        s.Single ? t / 1_000_000 == s.StartNanos / 1_000_000 : t >= s.StartNanos && t <= s.EndNanos;

    private static void AccumulateBySampleLabels(PartitionView view, in ProfileRow row, LabelSet seriesGroup, IReadOnlyList<string> names, long multiplier, GroupAccumulators acc)
    {
        var n = row.SampleCount;
        var stacks = ArrayPool<int>.Shared.Rent(n);
        var values = ArrayPool<long>.Shared.Rent(n);
        var sets = ArrayPool<int>.Shared.Rent(n);
        try
        {
            view.ReadSamples(row, stacks, values, sets);
            var bySet = new Dictionary<int, long[]>();
            for (var i = 0; i < n; i++)
            {
                if (!bySet.TryGetValue(sets[i], out var target))
                {
                    target = acc.For(GroupWithSampleLabels(view, seriesGroup, names, sets[i]));
                    bySet.Add(sets[i], target);
                }

                target[stacks[i]] += values[i] * multiplier;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(stacks);
            ArrayPool<long>.Shared.Return(values);
            ArrayPool<int>.Shared.Return(sets);
        }
    }

    private static LabelSet GroupWithSampleLabels(PartitionView view, LabelSet seriesGroup, IReadOnlyList<string> names, int set)
    {
        var labels = new List<Label>(seriesGroup.Labels.ToArray());
        var sym = view.Symbols;
        foreach (var l in view.SampleLabels.Get(set))
        {
            var key = sym.String(l.Key);
            if (!names.Contains(key) || labels.Exists(x => x.Name == key))
            {
                continue;
            }

            var value = l.Str >= 0 ? sym.String(l.Str) : l.Num.ToString(System.Globalization.CultureInfo.InvariantCulture);
            labels.Add(new Label(key, value));
        }

        return LabelSet.From(labels);
    }

    /// <summary>One dense node-value array per label group, pooled.</summary>
    private sealed class GroupAccumulators(int nodes, int maxGroups, bool trackDirty = false)
    {
        private readonly Dictionary<LabelSet, long[]> _groups = [];
        private readonly List<(LabelSet? Group, long[] Values)> _dirty = [];
        private long[]? _ungrouped;

        /// <summary>The accumulators handed out since the last <see cref="Clear"/> (by time: this profile's groups).</summary>
        public IReadOnlyList<(LabelSet? Group, long[] Values)> Dirty => _dirty;

        public IEnumerable<(LabelSet? Group, long[] Values)> All
        {
            get
            {
                if (_ungrouped is not null)
                {
                    yield return (null, _ungrouped);
                }

                foreach (var (g, v) in _groups)
                {
                    yield return (g, v);
                }
            }
        }

        public long[] For(LabelSet? group)
        {
            var values = Find(group);
            if (trackDirty && !_dirty.Exists(d => ReferenceEquals(d.Values, values)))
            {
                _dirty.Add((group, values)); // a profile touches one or a few groups: a list is enough
            }

            return values;
        }

        private long[] Find(LabelSet? group)
        {
            if (group is null)
            {
                return _ungrouped ??= Rent();
            }

            if (!_groups.TryGetValue(group, out var values))
            {
                if (_groups.Count >= maxGroups)
                {
                    // Each group is a value per stack node: an unbounded group-by is an unbounded allocation.
                    throw new QueryException(QueryErrorKind.ResourceExhausted,
                        $"group_by produces more than {maxGroups} groups (the limit, --query-max-groups); group by fewer or less distinct labels");
                }

                values = Rent();
                _groups.Add(group, values);
            }

            return values;
        }

        private long[] Rent()
        {
            var a = ArrayPool<long>.Shared.Rent(Math.Max(nodes, 1));
            Array.Clear(a, 0, nodes);
            return a;
        }

        /// <summary>Zeroes the accumulators used since the last clear (kept for the next profile).</summary>
        public void Clear()
        {
            foreach (var (_, v) in _dirty)
            {
                Array.Clear(v, 0, nodes);
            }

            _dirty.Clear();
        }

        public void Return()
        {
            foreach (var (_, v) in All)
            {
                ArrayPool<long>.Shared.Return(v);
            }
        }
    }
}
