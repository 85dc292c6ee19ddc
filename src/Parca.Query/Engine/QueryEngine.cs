using Parca.Query.Selectors;
using Parca.Storage;

namespace Parca.Query.Engine;

/// <summary>
/// Answers Parca's query semantics over a <see cref="ProfileStore"/>: metadata (profile types, labels, values),
/// QueryRange and profile queries (merge, single, diff). Reads partition snapshots only: never blocks writers.
/// Times are Unix nanoseconds.
/// </summary>
public sealed partial class QueryEngine
{
    private readonly ProfileStore _store;
    private long _seriesExamined;

    public QueryEngine(ProfileStore store) => _store = store;

    /// <summary>Series tested against selectors by all queries so far (exported as parca_query_series_examined_total).</summary>
    public long SeriesExamined => Interlocked.Read(ref _seriesExamined);

    /// <summary>The store queried (its object storage state becomes warnings on answers).</summary>
    public ProfileStore Store => _store;

    /// <summary>Distinct profile types; with both bounds non-zero, only those with a profile strictly inside (start, end).</summary>
    public IReadOnlyList<ProfileType> ProfileTypes(long startNanos = 0, long endNanos = 0)
    {
        var filter = startNanos != 0 && endNanos != 0;
        var seen = new HashSet<ProfileType>();
        foreach (var p in _store.Partitions)
        {
            var view = p.View();
            var types = view.Series.ProfileTypes;
            for (var t = 0; t < types.Length; t++)
            {
                if (seen.Contains(types[t]) || !HasRow(view, view.Series.SeriesOfType(t), filter, startNanos, endNanos))
                {
                    continue;
                }

                seen.Add(types[t]);
            }
        }

        return [.. seen.OrderBy(t => t.ToString(), StringComparer.Ordinal)];
    }

    public bool HasProfileData() => ProfileTypes().Count > 0;

    /// <summary>
    /// Label names with a value. With <paramref name="profileType"/> set, only series of that type matching all
    /// <paramref name="match"/> matchers (each like <c>job="x"</c>); without it, <paramref name="match"/> is ignored (Parca).
    /// </summary>
    public IReadOnlyList<string> Labels(IReadOnlyList<string>? match, string? profileType, long startNanos = 0, long endNanos = 0, CancellationToken cancellationToken = default)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (view, seriesId) in MatchSeriesForMetadata(match, profileType, startNanos, endNanos, cancellationToken))
        {
            foreach (var l in view.Series.GetSeries(seriesId).Labels.Labels)
            {
                if (l.Value.Length > 0)
                {
                    names.Add(l.Name);
                }
            }
        }

        return [.. names];
    }

    /// <summary>Distinct non-empty values of a label (Parca ignores <c>match</c> here; so do we).</summary>
    public IReadOnlyList<string> Values(string labelName, string? profileType, long startNanos = 0, long endNanos = 0)
    {
        var values = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (view, seriesId) in MatchSeriesForMetadata(null, profileType, startNanos, endNanos))
        {
            var v = view.Series.GetSeries(seriesId).Labels.Get(labelName);
            if (!string.IsNullOrEmpty(v))
            {
                values.Add(v);
            }
        }

        return [.. values];
    }

    private IEnumerable<(PartitionView View, int Series)> MatchSeriesForMetadata(IReadOnlyList<string>? match, string? profileType, long start, long end, CancellationToken cancellationToken = default)
    {
        var filter = start != 0 && end != 0;
        Selector? selector = null;
        if (!string.IsNullOrEmpty(profileType))
        {
            var q = profileType + "{" + string.Join(",", match ?? []) + "}";
            selector = ParseSelector(q);
        }

        foreach (var p in _store.Partitions)
        {
            var view = p.View();
            if (selector is not null)
            {
                foreach (var s in SeriesMatcher.Match(view, selector, cancellationToken, ref _seriesExamined))
                {
                    if (HasRow(view, [s], filter, start, end))
                    {
                        yield return (view, s);
                    }
                }
            }
            else
            {
                for (var s = 0; s < view.Series.SeriesCount; s++)
                {
                    if (HasRow(view, [s], filter, start, end))
                    {
                        yield return (view, s);
                    }
                }
            }
        }
    }

    private static bool HasRow(PartitionView view, ReadOnlySpan<int> series, bool filter, long start, long end)
    {
        foreach (var s in series)
        {
            foreach (var r in view.Series.GetSeries(s).ProfileRows)
            {
                if (r >= view.RowCount)
                {
                    continue;
                }

                if (!filter)
                {
                    return true;
                }

                var t = view.Rows[r].TimeNanos;
                if (t > start && t < end)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Parses a selector, turning syntax errors into InvalidArgument with the position of the mistake.</summary>
    public static Selector ParseSelector(string query)
    {
        try
        {
            return Selector.Parse(query);
        }
        catch (SelectorParseException e)
        {
            throw new QueryException(QueryErrorKind.InvalidArgument, e.Message);
        }
    }

    /// <summary>Samples/count types are reported as value × period in the period type (CPU samples → cpu nanoseconds).</summary>
    internal static bool ConvertsToPeriod(ProfileType t) => t.SampleType == "samples" && t.SampleUnit == "count";
}
