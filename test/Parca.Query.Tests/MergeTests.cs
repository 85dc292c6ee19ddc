using Parca.Query.Engine;
using Parca.Query.Filters;
using Parca.Query.Reports;
using Parca.Storage;
using Parca.Storage.Ingest;
using static Parca.Query.Tests.Fixtures;

namespace Parca.Query.Tests;

public sealed class MergeTests : IDisposable
{
    private readonly ProfileStore _store = Store();
    private readonly QueryEngine _engine;

    public MergeTests()
    {
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "1")), Cpu(10 * Second, ("main;work", 3), ("main;work;leaf", 2)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "1")), Cpu(20 * Second, ("main;work", 1)));
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "2")), Cpu(10 * Second, ("main;gc", 4)));
        _store.Append("process_cpu", LabelSet.From(("job", "db")), Cpu(15 * Second, ("main;query", 5)));
        _engine = new QueryEngine(_store);
    }

    public void Dispose() => _store.Dispose();

    private MergeResult Merge(string matchers, ProfileQueryOptions? o = null) =>
        _engine.Query(ProfileSelection.Merge(CpuSamples + matchers, 0, 30 * Second), o);

    [Fact]
    public void Merge_sums_stacks_and_converts_samples_to_cpu_nanoseconds()
    {
        var r = Merge("{job=\"api\"}");
        Assert.Equal("cpu", r.SampleType);
        Assert.Equal("nanoseconds", r.SampleUnit);
        Assert.Equal(new Dictionary<string, long>
        {
            ["main;work"] = 40_000_000,
            ["main;work;leaf"] = 20_000_000,
            ["main;gc"] = 40_000_000,
        }, Stacks(r));
        Assert.Equal(100_000_000, r.Total);
        Assert.Equal(0, r.Filtered);
        Assert.Equal(3, r.ProfileCount);
    }

    [Fact]
    public void Samples_without_a_period_stay_counts_and_say_so()
    {
        using var store = Store();
        var b = new IngestBuilder(("samples", "count"), ("cpu", "nanoseconds")) { TimeNanos = 10 * Second, Period = 0 };
        b.Sample("main;work", 3, 0);
        b.Sample("main;idle", 4, 0);
        store.Append("threads", LabelSet.From(("job", "api")), b.Build());

        var r = new QueryEngine(store).Query(ProfileSelection.Merge("threads:samples:count:cpu:nanoseconds{}", 0, 30 * Second));

        Assert.Equal("samples", r.SampleType);
        Assert.Equal("count", r.SampleUnit);
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 3, ["main;idle"] = 4 }, Stacks(r));
    }

    [Fact]
    public void Merge_with_equal_start_and_end_selects_one_timestamp()
    {
        var r = _engine.Query(ProfileSelection.Merge(CpuNanos + "{instance=\"1\"}", 20 * Second, 20 * Second));
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 10_000_000 }, Stacks(r));
    }

    [Fact]
    public void Single_selects_by_millisecond_and_reports_missing_profiles()
    {
        var r = _engine.Query(ProfileSelection.At(CpuSamples + "{job=\"db\"}", (15 * Second) + 300_000));
        Assert.Equal(new Dictionary<string, long> { ["main;query"] = 50_000_000 }, Stacks(r));
        var e = Assert.Throws<QueryException>(() => _engine.Query(ProfileSelection.At(CpuSamples + "{job=\"db\"}", 16 * Second)));
        Assert.Equal(QueryErrorKind.NotFound, e.Kind);
    }

    [Fact]
    public void Stack_filter_keeps_matching_stacks_case_insensitively_and_reports_filtered()
    {
        var r = Merge("{job=\"api\"}", new ProfileQueryOptions
        {
            Filters = [ProfileFilter.Stack(new FilterCriteria { FunctionName = new StringCondition(StringOp.Contains, "LEAF") })],
        });
        Assert.Equal(new Dictionary<string, long> { ["main;work;leaf"] = 20_000_000 }, Stacks(r));
        Assert.Equal(100_000_000, r.Total);
        Assert.Equal(80_000_000, r.Filtered);
    }

    [Fact]
    public void Negative_stack_filter_requires_every_frame()
    {
        var r = Merge("{job=\"api\"}", new ProfileQueryOptions
        {
            Filters = [ProfileFilter.Stack(new FilterCriteria { FunctionName = new StringCondition(StringOp.NotEqual, "work") })],
        });
        Assert.Equal(new Dictionary<string, long> { ["main;gc"] = 40_000_000 }, Stacks(r));
        Assert.Equal(60_000_000, r.Filtered);
    }

    [Fact]
    public void Frame_filter_hides_frames_but_keeps_values()
    {
        var r = Merge("{job=\"api\"}", new ProfileQueryOptions
        {
            Filters = [ProfileFilter.Frame(new FilterCriteria { FunctionName = new StringCondition(StringOp.NotStartsWith, "wor") })],
        });
        Assert.Equal(new Dictionary<string, long>
        {
            ["main"] = 40_000_000,
            ["main;leaf"] = 20_000_000,
            ["main;gc"] = 40_000_000,
        }, Stacks(r));
        Assert.Equal(0, r.Filtered);
    }

    [Fact]
    public void Group_by_label_puts_each_label_set_under_its_own_root()
    {
        var r = Merge("{job=\"api\"}", new ProfileQueryOptions { GroupBy = ["labels.instance"] });
        Assert.Equal(new Dictionary<string, long>
        {
            ["[instance=1];main;work"] = 40_000_000,
            ["[instance=1];main;work;leaf"] = 20_000_000,
            ["[instance=2];main;gc"] = 40_000_000,
        }, Stacks(r));
    }

    [Fact]
    public void Unknown_group_by_is_invalid_argument()
    {
        var e = Assert.Throws<QueryException>(() => Merge("{}", new ProfileQueryOptions { GroupBy = ["function"] }));
        Assert.Equal(QueryErrorKind.InvalidArgument, e.Kind);
        Assert.Contains("'function'", e.Message);
    }

    [Fact]
    public void Invert_builds_leaf_first_stacks()
    {
        var r = Merge("{job=\"api\"}", new ProfileQueryOptions { InvertCallStack = true });
        Assert.Equal(new Dictionary<string, long>
        {
            ["work;main"] = 40_000_000,
            ["leaf;work;main"] = 20_000_000,
            ["gc;main"] = 40_000_000,
        }, Stacks(r));
    }

    [Fact]
    public void Sandwich_shows_callees_from_the_function_and_callers_up_to_it()
    {
        var callees = Merge("{job=\"api\"}", new ProfileQueryOptions { SandwichByFunction = "work" });
        Assert.Equal(new Dictionary<string, long> { ["work"] = 40_000_000, ["work;leaf"] = 20_000_000 }, Stacks(callees));
        var callers = Merge("{job=\"api\"}", new ProfileQueryOptions { SandwichByFunction = "work", InvertCallStack = true });
        Assert.Equal(new Dictionary<string, long> { ["work;main"] = 60_000_000 }, Stacks(callers));
    }

    [Fact]
    public void Diff_absolute_and_relative()
    {
        var a = ProfileSelection.Merge(CpuSamples + "{instance=\"1\"}", 10 * Second, 10 * Second);
        var b = ProfileSelection.Merge(CpuSamples + "{instance=\"1\"}", 20 * Second, 20 * Second);
        var abs = _engine.Diff(a, b, absolute: true);
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = -20_000_000, ["main;work;leaf"] = -20_000_000 }, Stacks(abs, diff: true));
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 10_000_000 }, Stacks(abs));

        // B's total (10ms) is 5× smaller than A's (50ms): B is scaled up before subtracting.
        var rel = _engine.Diff(a, b, absolute: false);
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = 20_000_000, ["main;work;leaf"] = -20_000_000 }, Stacks(rel, diff: true));
    }

    [Fact]
    public async Task Merge_spans_head_and_blocks_with_different_symbol_ids()
    {
        await _store.FlushAsync();
        _store.Append("process_cpu", LabelSet.From(("job", "api"), ("instance", "3")), Cpu(25 * Second, ("other;x", 1), ("main;work", 2)));
        var r = Merge("{job=\"api\"}");
        Assert.Equal(new Dictionary<string, long>
        {
            ["main;work"] = 60_000_000,
            ["main;work;leaf"] = 20_000_000,
            ["main;gc"] = 40_000_000,
            ["other;x"] = 10_000_000,
        }, Stacks(r));
    }

    [Fact]
    public void Group_by_pprof_sample_label_splits_by_its_values()
    {
        var b = new Storage.Ingest.IngestBuilder(("samples", "count")) { TimeNanos = 40 * Second, DurationNanos = Second, Period = 1 };
        b.SampleWithLabels("main;handle", [("route", "/a")], 3);
        b.SampleWithLabels("main;handle", [("route", "/b")], 4);
        b.Sample("main;gc", 1);
        _store.Append("go", LabelSet.From(("job", "web")), b.Build());
        var r = _engine.Query(ProfileSelection.Merge("go:samples:count:cpu:nanoseconds:delta", 0, 50 * Second), new ProfileQueryOptions { GroupBy = ["labels.route"] });
        Assert.Equal(new Dictionary<string, long>
        {
            ["[route=/a];main;handle"] = 3,
            ["[route=/b];main;handle"] = 4,
            ["[];main;gc"] = 1,
        }, Stacks(r));
    }

    [Fact]
    public void Pprof_report_is_read_back_by_go_tool_pprof_with_the_same_stacks()
    {
        var r = Merge("{job=\"api\"}");
        var file = Path.Combine(Path.GetTempPath(), $"parca-merge-{Guid.NewGuid():N}.pb.gz");
        File.WriteAllBytes(file, PprofReport.Build(r));
        try
        {
            Assert.Equal(Stacks(r), GoPprof.RawStacks(file));
            var raw = GoPprof.Run("-raw", file);
            Assert.Contains("PeriodType: cpu nanoseconds", raw);
            Assert.Contains("cpu/nanoseconds", raw);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
