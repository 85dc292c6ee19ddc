using System.Text;
using Parca.Storage.Ingest;
using static Parca.Storage.Tests.TestProfiles;

namespace Parca.Storage.Tests;

/// <summary>
/// The ingest hot path: profiles whose string table stays UTF-8 (as decoded from pprof) and locations found again by
/// content hash. Stored stacks must be exactly those of the profiles, whatever ids or indexes the agent uses.
/// </summary>
public sealed class Utf8IngestTests
{
    private static readonly LabelSet s_job = LabelSet.From(("job", "api"));

    /// <summary>The same profile with its string table as UTF-8 bytes (with gaps, like protobuf framing).</summary>
    internal static IngestProfile ToUtf8(IngestProfile p)
    {
        var data = new List<byte>();
        var ranges = new IngestStringRange[p.Strings.Length];
        for (var i = 0; i < ranges.Length; i++)
        {
            data.AddRange([0x32, 0xff]); // junk between strings: ranges, not positions, locate them
            var bytes = Encoding.UTF8.GetBytes(p.Strings[i]);
            ranges[i] = new IngestStringRange(data.Count, bytes.Length);
            data.AddRange(bytes);
        }

        var copy = new IngestProfile
        {
            Mappings = p.Mappings,
            Functions = p.Functions,
            Locations = p.Locations,
            Lines = p.Lines,
            SampleTypes = p.SampleTypes,
            PeriodType = p.PeriodType,
            Period = p.Period,
            TimeNanos = p.TimeNanos,
            DurationNanos = p.DurationNanos,
            SampleCount = p.SampleCount,
            StackOffsets = p.StackOffsets,
            StackLocations = p.StackLocations,
            Values = p.Values,
            LabelOffsets = p.LabelOffsets,
            SampleLabels = p.SampleLabels,
        };
        copy.SetUtf8Strings(data.ToArray(), ranges);
        return copy;
    }

    [Fact]
    public void Utf8_and_string_tables_store_the_same_symbols_once()
    {
        using var store = new ProfileStore();
        store.Append(Cpu, s_job, CpuProfile(1, ("main;a;b", 1), ("main;ü;日本", 2)));
        store.Append(Cpu, s_job, ToUtf8(CpuProfile(2, ("main;a;b", 3), ("main;ü;日本", 4))));

        var view = store.Partitions[^1].View();
        Assert.Equal(6, view.Symbols.LocationCount); // none + main, a, b, ü, 日本: the UTF-8 profile found them all
        Assert.Equal(new Dictionary<string, long> { ["main;a;b"] = 4, ["main;ü;日本"] = 6 }, ReadStacks(view, 0));
    }

    [Fact]
    public void Utf8_profile_first_materializes_its_strings_correctly()
    {
        using var store = new ProfileStore();
        store.Append(Cpu, s_job, ToUtf8(CpuProfile(1, ("main;ü;日本", 2))));
        var view = store.Partitions[^1].View();
        Assert.Equal("process_cpu:samples:count:cpu:nanoseconds:delta", view.Series.GetSeries(0).Type.ToString());
        Assert.Equal(new Dictionary<string, long> { ["main;ü;日本"] = 2 }, ReadStacks(view, 0));
    }

    [Fact]
    public void Agent_renumbering_its_locations_cannot_reuse_stale_mappings()
    {
        // Profile A: location 0 = main, 1 = f, 2 = g. Profile B reuses indexes 0..2 for different content
        // (0 = g, 1 = main, 2 = h): every location must be resolved by content, never by index.
        var a = new IngestBuilder(("samples", "count")) { TimeNanos = 1, DurationNanos = 1 };
        int aMain = a.Location("main"), aF = a.Location("f"), aG = a.Location("g");
        a.Sample([aF, aMain], [1], null);
        a.Sample([aG, aF, aMain], [2], null);
        var b = new IngestBuilder(("samples", "count")) { TimeNanos = 2, DurationNanos = 1 };
        int bG = b.Location("g"), bMain = b.Location("main"), bH = b.Location("h");
        Assert.Equal((aMain, aF, aG), (bG, bMain, bH)); // same indexes, different content
        b.Sample([bG, bMain], [10], null);
        b.Sample([bH, bG, bMain], [20], null);
        b.Sample([bMain, bG], [100], null); // same indexes as A's first sample ([1, 0]), another stack

        using var store = new ProfileStore();
        for (var i = 0; i < 3; i++)
        {
            store.Append(Cpu, s_job, ToUtf8(a.Build()));
            store.Append(Cpu, s_job, ToUtf8(b.Build()));
        }

        var view = store.Partitions[^1].View();
        Assert.Equal(new Dictionary<string, long>
        {
            ["main;f"] = 3,
            ["main;f;g"] = 6,
            ["main;g"] = 30,
            ["main;g;h"] = 60,
            ["g;main"] = 300,
        }, ReadStacks(view, 0));
        Assert.Equal(5, view.Symbols.LocationCount); // none + main, f, g, h
    }

    [Fact]
    public void Same_function_name_in_another_file_or_line_is_another_location()
    {
        var a = new IngestBuilder(("samples", "count")) { TimeNanos = 1, DurationNanos = 1 };
        a.Sample([a.Location("f", file: "a.go", line: 1)], [1], null);
        var b = new IngestBuilder(("samples", "count")) { TimeNanos = 2, DurationNanos = 1 };
        b.Sample([b.Location("f", file: "a.go", line: 2)], [2], null);
        var c = new IngestBuilder(("samples", "count")) { TimeNanos = 3, DurationNanos = 1 };
        c.Sample([c.Location("f", file: "b.go", line: 1)], [3], null);

        using var store = new ProfileStore();
        store.Append(Cpu, s_job, ToUtf8(a.Build()));
        store.Append(Cpu, s_job, ToUtf8(b.Build()));
        store.Append(Cpu, s_job, ToUtf8(c.Build()));

        var view = store.Partitions[^1].View();
        Assert.Equal(4, view.Symbols.LocationCount);
        var seen = new List<(string File, long Line)>();
        for (var l = 1; l < view.Symbols.LocationCount; l++)
        {
            var line = view.Symbols.LinesOf(view.Symbols.Locations[l])[0];
            seen.Add((view.Symbols.String(view.Symbols.Functions[line.Function].FileName), line.Line));
        }

        Assert.Equal([("a.go", 1L), ("a.go", 2L), ("b.go", 1L)], seen);
    }

    [Fact]
    public void Sample_labels_from_a_utf8_table_are_kept()
    {
        var b = new IngestBuilder(("samples", "count")) { TimeNanos = 1, DurationNanos = 1 };
        b.SampleWithLabels("main;work", [("span", "ß-1")], 5);
        b.WithNumLabel("bytes", 42, "bytes");
        b.Sample("main;idle", 7);
        using var store = new ProfileStore();
        store.Append(Cpu, s_job, ToUtf8(b.Build()));

        var view = store.Partitions[^1].View();
        var row = view.Rows[view.Series.GetSeries(0).ProfileRows[0]];
        Assert.True(row.HasSampleLabels);
        var stacks = new int[row.SampleCount];
        var values = new long[row.SampleCount];
        var sets = new int[row.SampleCount];
        view.ReadSamples(row, stacks, values, sets);
        var labelled = Array.IndexOf(values, 5L);
        var labels = view.SampleLabels.Get(sets[labelled]);
        Assert.Equal(2, labels.Length);
        Assert.Equal(("span", "ß-1"), (view.Symbols.String(labels[0].Key), view.Symbols.String(labels[0].Str)));
        Assert.Equal(("bytes", 42L, "bytes"), (view.Symbols.String(labels[1].Key), labels[1].Num, view.Symbols.String(labels[1].NumUnit)));
        Assert.Equal(0, sets[Array.IndexOf(values, 7L)]);
    }
}
