using Parca.Query.Engine;
using Parca.Storage;
using Parca.Storage.Ingest;
using static Parca.Query.Tests.Fixtures;

namespace Parca.Query.Tests;

public sealed class QueryRangeTests : IDisposable
{
    private readonly ProfileStore _store = Store();
    private readonly QueryEngine _engine;

    public QueryRangeTests()
    {
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "1")), Cpu(10 * Second, ("main;work", 3), ("main;work;leaf", 2)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "1")), Cpu(20 * Second, ("main;work", 1)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "2")), Cpu(10 * Second, ("main;gc", 4)));
        _store.Append("process_cpu", LabelSet.From(("job", "db")), Cpu(15 * Second, ("main;query", 5)));
        foreach (var (t, v) in new[] { (10L, 100L), (12L, 50L), (31L, 70L) })
        {
            var b = new IngestBuilder(("inuse_space", "bytes")) { PeriodType = ("space", "bytes"), Period = 524288, TimeNanos = t * Second };
            b.Sample("main;alloc", v);
            _store.Append("memory", LabelSet.From(("job", "api")), b.Build());
        }

        _engine = new QueryEngine(_store);
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public void Delta_range_sums_per_step_into_one_series_without_sum_by()
    {
        var series = Assert.Single(_engine.QueryRange(CpuSamples + "{job=\"api\"}", 0, 30 * Second, 10 * Second, []));
        Assert.Equal(0, series.Labels.Count);
        Assert.Equal(("cpu", "nanoseconds"), series.SampleType);
        Assert.Equal(("cpu", "nanoseconds"), series.PeriodType);
        Assert.Equal(
            [new MetricsPoint(10 * Second, 90_000_000, 0.009, 10 * Second, 2), new MetricsPoint(20 * Second, 10_000_000, 0.001, 10 * Second, 1)],
            series.Points);
    }

    [Fact]
    public void Delta_range_groups_by_sum_by_labels()
    {
        var result = _engine.QueryRange(CpuNanos + "{job=\"api\"}", 0, 30 * Second, 10 * Second, ["instance"]);
        Assert.Equal(["{instance=\"1\"}", "{instance=\"2\"}"], result.Select(s => s.Labels.ToString()).ToArray());
        Assert.Equal([50_000_000L, 10_000_000L], result[0].Points.Select(p => p.Value).ToArray());
        Assert.Equal([40_000_000L], result[1].Points.Select(p => p.Value).ToArray());
    }

    [Fact]
    public void Bucket_with_several_timestamps_reports_the_step_as_duration()
    {
        var series = Assert.Single(_engine.QueryRange(CpuSamples + "{job=~\".+\"}", 0, 30 * Second, 20 * Second, []));
        var first = series.Points[0];
        Assert.Equal(new MetricsPoint(0, 140_000_000, 140_000_000 / 20e9, 20 * Second, 3), first);
    }

    [Fact]
    public void Non_delta_range_keeps_first_timestamp_value_per_bucket_per_label_set()
    {
        var series = Assert.Single(_engine.QueryRange("memory:inuse_space:bytes:space:bytes", 0, 40 * Second, 10 * Second, ["ignored"]));
        Assert.Equal("{job=\"api\"}", series.Labels.ToString());
        Assert.Null(series.SampleType);
        // The first step holds two profiles: its value is the first one's (Parca), with the range of both.
        Assert.Equal([new MetricsPoint(10 * Second, 100, 100, 0, 2, true, 50, 100, 10 * Second), new MetricsPoint(31 * Second, 70, 70, 0, 1)], series.Points);
    }

    [Fact]
    public void A_downsampled_gauge_keeps_its_peak_its_minimum_and_the_peak_time()
    {
        using var store = Store();
        foreach (var (t, v) in new[] { (120L, 300L), (130L, 9000L), (140L, 20L), (150L, 400L) })
        {
            var b = new IngestBuilder(("inuse_space", "bytes")) { PeriodType = ("space", "bytes"), Period = 1, TimeNanos = t * Second };
            b.Sample("main;alloc", v);
            store.Append("memory", LabelSet.From(("job", "heap")), b.Build());
        }

        // One step (steps are multiples of the step since the epoch: [120 s, 180 s)) over all four profiles.
        var series = Assert.Single(new QueryEngine(store).QueryRange("memory:inuse_space:bytes:space:bytes", 120 * Second, 179 * Second, 60 * Second, null));
        Assert.Equal([new MetricsPoint(120 * Second, 300, 300, 0, 4, true, 20, 9000, 130 * Second)], series.Points);
    }

    [Fact]
    public void Empty_result_is_not_found()
    {
        var e = Assert.Throws<QueryException>(() => _engine.QueryRange(CpuSamples + "{job=\"none\"}", 0, 30 * Second, Second, []));
        Assert.Equal(QueryErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public void Metadata_lists_types_labels_and_values()
    {
        Assert.Equal(
            ["memory:inuse_space:bytes:space:bytes", CpuNanos, CpuSamples],
            _engine.ProfileTypes().Select(t => t.ToString()).ToArray());
        Assert.Equal(["memory:inuse_space:bytes:space:bytes"], _engine.ProfileTypes(30 * Second, 40 * Second).Select(t => t.ToString()).ToArray());
        Assert.True(_engine.HasProfileData());
        Assert.Equal(["instance", "job"], _engine.Labels(null, null));
        Assert.Equal(["job"], _engine.Labels(["job=\"db\""], CpuSamples));
        Assert.Equal(["api", "db"], _engine.Values("job", null));
        Assert.Equal(["1", "2"], _engine.Values("instance", CpuSamples));
        Assert.Empty(_engine.Values("instance", "memory:inuse_space:bytes:space:bytes"));
    }

    [Fact]
    public void Bad_selector_is_invalid_argument_with_position()
    {
        var e = Assert.Throws<QueryException>(() => _engine.QueryRange("process_cpu{job=\"x\"}", 0, 1, 1, []));
        Assert.Equal(QueryErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("position 1", e.Message);
    }

    [Fact]
    public void Too_many_points_over_all_series_is_invalid_argument()
    {
        // 41 steps per series with a limit of 100 points in all: two series fit, the third does not.
        var engine = new QueryEngine(_store) { MaxRangePoints = 100 };
        Assert.Equal(2, engine.QueryRange(CpuSamples + "{job=\"api\"}", 0, 40 * Second, Second, ["instance"]).Count);
        var e = Assert.Throws<QueryException>(() => engine.QueryRange(CpuSamples + "{job=~\".+\"}", 0, 40 * Second, Second, ["instance"]));
        Assert.Equal(QueryErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("3+ series", e.Message);
    }
}
