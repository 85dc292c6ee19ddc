using Parca.Query.Engine;
using Parca.Query.Selectors;
using Parca.Storage;
using static Parca.Query.Tests.Fixtures;

namespace Parca.Query.Tests;

/// <summary>
/// Hostile queries: catastrophic-backtracking patterns run on the linear-time engine (anchored as Prometheus does),
/// patterns that need backtracking are refused as invalid, a cancelled query stops, group-by cardinality is bounded,
/// sum_by names are checked and totals that would overflow are refused instead of wrapping.
/// </summary>
public sealed class QueryLimitsTests : IDisposable
{
    private readonly ProfileStore _store = Store();

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Catastrophic_backtracking_patterns_match_crafted_values_exactly()
    {
        // (a|aa)+$ against "aaa…a!" takes exponential time on a backtracking engine (the old matcher timed out after
        // 1 s per value and answered UNKNOWN); on the non-backtracking engine each value costs time linear in its length.
        for (var i = 0; i < 400; i++)
        {
            var value = new string('a', 40 + (i % 60)) + (i % 2 == 0 ? "!" : "");
            _store.Append("process_cpu", LabelSet.From(("job", "j" + i), ("pod", value)), Cpu(10 * Second, ("main;work", 1)));
        }

        var engine = new QueryEngine(_store);
        var result = engine.QueryRange(CpuSamples + "{pod=~\"(a|aa)+$\"}", 0, 20 * Second, 20 * Second, ["job"]);

        Assert.Equal(200, result.Count); // the values without '!' match, anchored at both ends
        Assert.All(result, s => Assert.Equal(10_000_000L, s.GetPoint(0).Value));
        var m = Assert.Single(Selector.Parse(CpuSamples + "{pod=~\"(a|aa)+$\"}").Matchers);
        Assert.True(m.Matches(new string('a', 5000)));
        Assert.False(m.Matches(new string('a', 5000) + "!"));
    }

    [Theory]
    [InlineData("parc", "parca", false)]
    [InlineData("parc.*", "parca", true)]
    [InlineData("a|b", "a", true)]
    [InlineData("a|b", "ab", false)]
    [InlineData("x.y", "x\ny", true)] // '.' matches a newline, as Prometheus' (?s:...) does
    [InlineData("web-1", "web-1\n", false)] // '$' would accept a trailing newline; the anchor is the true end
    public void Regex_matchers_are_anchored_as_in_prometheus(string pattern, string value, bool matches)
    {
        Assert.Equal(matches, new Matcher("l", MatchOp.Regex, pattern).Matches(value));
        Assert.Equal(!matches, new Matcher("l", MatchOp.NotRegex, pattern).Matches(value));
    }

    [Theory]
    [InlineData("(a)\\\\1", "unsupported regular expression for label 'pod'")] // backreference
    [InlineData("(?=a)a", "unsupported regular expression for label 'pod'")] // lookahead
    [InlineData("(?>a+)", "unsupported regular expression for label 'pod'")] // atomic group
    [InlineData("(", "invalid regular expression for label 'pod'")]
    public void Patterns_that_need_backtracking_or_do_not_parse_are_invalid_arguments(string pattern, string message)
    {
        var engine = new QueryEngine(_store);

        var e = Assert.Throws<QueryException>(() => engine.QueryRange(CpuSamples + "{pod=~\"" + pattern + "\"}", 0, Second, Second, []));

        Assert.Equal(QueryErrorKind.InvalidArgument, e.Kind);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cancelled_query_stops_before_scanning()
    {
        for (var i = 0; i < 1000; i++)
        {
            _store.Append("process_cpu", LabelSet.From(("job", "j" + i)), Cpu(10 * Second, ("main;work", 1)));
        }

        var engine = new QueryEngine(_store);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.Throws<OperationCanceledException>(() => engine.QueryRange(CpuSamples + "{job=~\"j.*\"}", 0, 20 * Second, Second, [], int.MaxValue, cancelled.Token));
        Assert.Throws<OperationCanceledException>(() => engine.Query(ProfileSelection.Merge(CpuSamples + "{job=~\"j.*\"}", 0, 20 * Second), new ProfileQueryOptions { CancellationToken = cancelled.Token }));
        Assert.Throws<OperationCanceledException>(() => engine.Labels(["job=~\"j.*\""], CpuSamples, 0, 0, cancelled.Token));
    }

    [Fact]
    public void Group_by_beyond_the_limit_is_refused_with_the_flag()
    {
        for (var i = 0; i < 20; i++)
        {
            _store.Append("process_cpu", LabelSet.From(("job", "j" + i)), Cpu(10 * Second, ("main;work", 1)));
        }

        var engine = new QueryEngine(_store);

        var range = Assert.Throws<QueryException>(() => engine.QueryRange(CpuSamples, 0, 20 * Second, 20 * Second, ["job"], 10, default));
        Assert.Equal(QueryErrorKind.ResourceExhausted, range.Kind);
        Assert.Equal("the query produces more than 10 series (the limit, --query-max-groups); narrow the selector or sum_by fewer labels", range.Message);

        var merge = Assert.Throws<QueryException>(() => engine.Query(ProfileSelection.Merge(CpuSamples, 0, 20 * Second), new ProfileQueryOptions { GroupBy = ["labels.job"], MaxGroups = 10 }));
        Assert.Equal(QueryErrorKind.ResourceExhausted, merge.Kind);
        Assert.Equal("group_by produces more than 10 groups (the limit, --query-max-groups); group by fewer or less distinct labels", merge.Message);

        Assert.Equal(20, engine.QueryRange(CpuSamples, 0, 20 * Second, 20 * Second, ["job"], 20, default).Count);
    }

    [Fact]
    public void Sum_by_names_are_checked()
    {
        _store.Append("process_cpu", LabelSet.From(("job", "api")), Cpu(10 * Second, ("main;work", 1)));
        var engine = new QueryEngine(_store);

        var invalid = Assert.Throws<QueryException>(() => engine.QueryRange(CpuSamples, 0, 20 * Second, 20 * Second, ["not-a-label"]));
        Assert.Equal(QueryErrorKind.InvalidArgument, invalid.Kind);
        Assert.Equal("sum_by: 'not-a-label' is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)", invalid.Message);

        var unknown = Assert.Throws<QueryException>(() => engine.QueryRange(CpuSamples, 0, 20 * Second, 20 * Second, ["job", "jbo"]));
        Assert.Equal(QueryErrorKind.InvalidArgument, unknown.Kind);
        Assert.Equal("sum_by label 'jbo' is not a label of any selected series", unknown.Message);

        Assert.Single(engine.QueryRange(CpuSamples, 0, 20 * Second, 20 * Second, ["job"]));
    }

    [Fact]
    public void Totals_that_overflow_int64_are_refused_instead_of_wrapping()
    {
        // Two profiles whose values are each valid but whose sum exceeds long.MaxValue.
        // Different leaves: the merge's total is what is checked (per-node sums are bounded by it for one-signed values).
        _store.Append("process_cpu", LabelSet.From(("job", "a")), Cpu(10 * Second, ("main;work", (long.MaxValue / Period / 2) + 1)));
        _store.Append("process_cpu", LabelSet.From(("job", "b")), Cpu(10 * Second, ("main;other", (long.MaxValue / Period / 2) + 1)));
        var engine = new QueryEngine(_store);

        var range = Assert.Throws<QueryException>(() => engine.QueryRange(CpuSamples, 0, 20 * Second, 20 * Second, []));
        Assert.StartsWith("the selected profiles' values overflow a 64-bit total", range.Message, StringComparison.Ordinal);

        var merge = Assert.Throws<QueryException>(() => engine.Query(ProfileSelection.Merge(CpuSamples, 0, 20 * Second)));
        Assert.StartsWith("the selected profiles' values overflow a 64-bit total", merge.Message, StringComparison.Ordinal);

        // Each alone is fine.
        Assert.Single(engine.QueryRange(CpuSamples + "{job=\"a\"}", 0, 20 * Second, 20 * Second, []));
    }
}
