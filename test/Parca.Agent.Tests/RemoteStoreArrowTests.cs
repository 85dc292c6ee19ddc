using Parca.Agent.Profiling;
using Parca.Agent.Shipping;
using Parca.Pprof;
using Parca.Server.Ingest.Arrow;
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
}
