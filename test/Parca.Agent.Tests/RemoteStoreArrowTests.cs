using Parca.Agent.Profiling;
using Parca.Agent.Shipping;
using Parca.Ingest.Arrow;
using Parca.Pprof;
using Parca.Storage;

namespace Parca.Agent.Tests;

/// <summary>The agent's v2 records (--remote-store-use-v2-schema, the default) as the server's WriteArrow reads them.</summary>
public sealed class RemoteStoreArrowTests
{
    [Fact]
    public void Arrow_request_carries_every_sample_type_label_and_frame()
    {
        var p = new Profile { TimeNanos = DateTimeOffset.UtcNow.ToUnixTimeSeconds() * 1_000_000_000, DurationNanos = 10_000_000_000, Period = 52_631_578, PeriodType = new("cpu", "nanoseconds") };
        p.SampleTypes.Add(new("samples", "count"));
        p.SampleTypes.Add(new("cpu", "nanoseconds"));
        p.Mappings.Add(new Mapping { Id = 1, Filename = "/usr/bin/app", BuildId = "b1d" });
        p.Functions.Add(new Function { Id = 1, Name = "main", SystemName = "main" });
        var symbolized = new Location { Id = 1, MappingId = 1, Address = 0x1000 };
        symbolized.Lines.Add(new Line(1, 7));
        p.Locations.Add(symbolized);
        p.Locations.Add(new Location { Id = 2, MappingId = 1, Address = 0x2040 }); // not symbolized: address + mapping only
        p.Samples.Add(new Sample { LocationIds = [2, 1], Values = [3, 3 * 52_631_578] });
        p.Samples.Add(new Sample { LocationIds = [1], Values = [1, 52_631_578] });
        var series = new ProfileSeries(new Dictionary<string, string> { ["comm"] = "app", ["node"] = "n" },
            PprofEncoder.Encode(p, compress: true), [1], 4, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(10), []);

        var request = RemoteStore.BuildArrowRequest([series]);

        using var store = new ProfileStore(new StorageOptions());
        Assert.Equal(4, new ArrowIngest(store, 64 << 20).WriteArrow(request.IpcBuffer.Memory));
        var view = store.Partitions.Single().View();
        Assert.Equal(2, view.RowCount); // one profile per sample type, same series labels
    }

    /// <summary>
    /// The store holds a window at the exact time the agent reports for it. Rows cut to the millisecond made a query
    /// starting within a window's first millisecond miss the whole window (a flaky end-to-end test: 16 of 106 samples).
    /// </summary>
    [Fact]
    public void Rows_carry_the_window_start_to_the_tick_not_cut_to_the_millisecond()
    {
        var second = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        var time = second.AddTicks(1_234_567); // 0.1234567 s past a whole second
        Shipping.Arrow.Frame main = new(0x1000, "native", "/usr/bin/app", "b1d", new Shipping.Arrow.FrameLine("main", "/usr/bin/app"));
        var series = new ProfileSeries(new Dictionary<string, string> { ["comm"] = "app" }, [], [1], 2, time, TimeSpan.FromSeconds(1), [])
        {
            Stacks = new AggregatedStacks(52_631_578, [([main], 2)]),
        };

        using var store = new ProfileStore(new StorageOptions());
        new ArrowIngest(store, 64 << 20).WriteArrow(RemoteStore.BuildArrowRequest([series]).IpcBuffer.Memory);
        var head = store.Partitions.Single();
        Assert.Equal(series.TimeUnixNanos, head.MinTimeNanos);
        Assert.Equal(series.TimeUnixNanos, head.MaxTimeNanos);
        Assert.Equal((second.ToUnixTimeSeconds() * 1_000_000_000) + 123_456_700, series.TimeUnixNanos);
    }

    [Fact]
    public void Rows_built_from_the_aggregation_equal_the_rows_decoded_from_the_window_pprof()
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        const long period = 52_631_578;
        var p = new Profile { TimeNanos = time.ToUnixTimeMilliseconds() * 1_000_000, DurationNanos = 10_000_000_000, Period = period, PeriodType = new("cpu", "nanoseconds") };
        p.SampleTypes.Add(new("samples", "count"));
        p.SampleTypes.Add(new("cpu", "nanoseconds"));
        p.Mappings.Add(new Mapping { Id = 1, Filename = "/usr/bin/app", BuildId = "b1d" });
        p.Mappings.Add(new Mapping { Id = 2, Filename = "[kernel.kallsyms]" });
        p.Functions.Add(new Function { Id = 1, Name = "main", SystemName = "main", Filename = "/usr/bin/app" });
        p.Functions.Add(new Function { Id = 2, Name = "do_syscall_64", SystemName = "do_syscall_64", Filename = "[kernel.kallsyms]" });
        var main = new Location { Id = 1, MappingId = 1, Address = 0x1000 };
        main.Lines.Add(new Line(1, 0));
        var kernel = new Location { Id = 3, MappingId = 2, Address = 0xffffffff81000000 };
        kernel.Lines.Add(new Line(2, 0));
        p.Locations.Add(main);
        p.Locations.Add(new Location { Id = 2, MappingId = 1, Address = 0x2040 });
        p.Locations.Add(kernel);
        p.Samples.Add(new Sample { LocationIds = [3, 2, 1], Values = [3, 3 * period] });
        p.Samples.Add(new Sample { LocationIds = [1], Values = [1, period] });

        Shipping.Arrow.Frame fMain = new(0x1000, "native", "/usr/bin/app", "b1d", new Shipping.Arrow.FrameLine("main", "/usr/bin/app"));
        Shipping.Arrow.Frame fNative = new(0x2040, "native", "/usr/bin/app", "b1d");
        Shipping.Arrow.Frame fKernel = new(0xffffffff81000000, "kernel", "[kernel.kallsyms]", null, new Shipping.Arrow.FrameLine("do_syscall_64", "[kernel.kallsyms]"));
        var labels = new Dictionary<string, string> { ["comm"] = "app" };
        var decoded = new ProfileSeries(labels, PprofEncoder.Encode(p, compress: true), [1], 4, time, TimeSpan.FromSeconds(10), []);
        var aggregated = decoded with { Stacks = new AggregatedStacks(period, [([fKernel, fNative, fMain], 3), ([fMain], 1)]) };

        Assert.Equal(RemoteStore.BuildArrowRequest([decoded]).IpcBuffer.ToByteArray(), RemoteStore.BuildArrowRequest([aggregated]).IpcBuffer.ToByteArray());
    }

    [Fact]
    public void Native_frames_of_a_pprof_with_executable_info_carry_elf_file_addresses()
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        const long period = 52_631_578;
        var p = new Profile { TimeNanos = time.ToUnixTimeMilliseconds() * 1_000_000, DurationNanos = 10_000_000_000, Period = period, PeriodType = new("cpu", "nanoseconds") };
        p.SampleTypes.Add(new("samples", "count"));
        p.SampleTypes.Add(new("cpu", "nanoseconds"));
        // A PIE whose text segment (file offset 0x1000, vaddr 0x2000) the kernel mapped at 0x7f0000001000.
        p.Mappings.Add(new Mapping { Id = 1, MemoryStart = 0x7f00_0000_1000, MemoryLimit = 0x7f00_0000_5000, FileOffset = 0x1000, Filename = "/usr/bin/app", BuildId = "b1d" });
        p.Mappings.Add(new Mapping { Id = 2, MemoryStart = 0x7f10_0000_0000, MemoryLimit = 0x7f10_0001_0000, Filename = "[anon]" });
        p.Locations.Add(new Location { Id = 1, MappingId = 1, Address = 0x7f00_0000_1234 });
        p.Locations.Add(new Location { Id = 2, MappingId = 2, Address = 0x7f10_0000_0040 });
        p.Samples.Add(new Sample { LocationIds = [2, 1], Values = [2, 2 * period] });
        var labels = new Dictionary<string, string> { ["comm"] = "app" };
        var decoded = new ProfileSeries(labels, PprofEncoder.Encode(p, compress: true), [1], 2, time, TimeSpan.FromSeconds(10),
            [new ExecutableSegment(3, 0x1000, 0x2000), default]);

        Shipping.Arrow.Frame text = new(0x2234, "native", "/usr/bin/app", "b1d"); // 0x1234 − 0x1000 + 0x1000 − 0x1000 + 0x2000
        Shipping.Arrow.Frame jit = new(0x7f10_0000_0040, "native", "[anon]"); // no ELF: the process address stays
        var expected = decoded with { Stacks = new AggregatedStacks(period, [([jit, text], 2)]) };

        Assert.Equal(RemoteStore.BuildArrowRequest([expected]).IpcBuffer.ToByteArray(), RemoteStore.BuildArrowRequest([decoded]).IpcBuffer.ToByteArray());
    }
}
