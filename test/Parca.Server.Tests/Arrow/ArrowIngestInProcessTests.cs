using Parca.Agent.Shipping.Arrow;
using Parca.Ingest.Arrow;
using Parca.Storage;

namespace Parca.Server.Tests.Arrow;

/// <summary>The normalizer on its own (no transport): what each record becomes in storage.</summary>
public sealed class ArrowIngestInProcessTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void V2_record_becomes_one_profile_per_type_label_set_and_bucket(bool lz4)
    {
        using var store = new ProfileStore(new StorageOptions());
        var ingest = new ArrowIngest(store, 64 << 20);
        var now = WriteArrowTests.Now;
        var record = V2RecordWriter.Write(
        [
            [TestRows.Of("a;b", 1, now, ("pid", "1")), TestRows.Of("a;b", 2, now + 1, ("pid", "2")), TestRows.Of("a", 3, now + 2, ("pid", "1"))],
            [TestRows.Of("a;b", 4, now + ArrowIngest.BucketNanos, ("pid", "1"))],
        ], lz4);

        Assert.Equal(4, ingest.WriteArrow(record));
        // pid 1 in the first bucket, pid 2 in the first bucket, pid 1 in the next bucket.
        Assert.Equal(3, store.Partitions.Sum(p => p.View().RowCount));
    }

    [Fact]
    public void Interpreted_frames_without_a_mapping_file_keep_their_frame_type_as_their_mapping()
    {
        using var store = new ProfileStore(new StorageOptions());
        var now = WriteArrowTests.Now;
        Frame[] stack =
        [
            new(0x10, "python", null, null, new FrameLine("leaf", "/srv/app.py", 7)),
            new(0x4000, "native", "/usr/bin/python3.11", "b1d", new FrameLine("_PyEval_EvalFrameDefault")),
            new(0xffffffff81000000, "kernel", "[kernel.kallsyms]", null, new FrameLine("do_syscall_64")),
        ];
        var record = V2RecordWriter.Write([[new ArrowSample(stack, 5, new Dictionary<string, string?> { ["comm"] = "python3" }, now)]]);

        Assert.Equal(1, new ArrowIngest(store, 64 << 20).WriteArrow(record));
        var merged = new Parca.Query.Engine.QueryEngine(store).Query(
            Parca.Query.Engine.ProfileSelection.Merge("parca_agent:samples:count:cpu:nanoseconds:delta{comm=\"python3\"}", now - 1_000_000_000, now + 1_000_000_000));
        var profile = Parca.Pprof.PprofDecoder.Decode(Parca.Query.Reports.PprofReport.Build(merged)).ToProfile();
        var mappingOf = profile.Locations.ToDictionary(
            l => profile.Functions.First(f => f.Id == l.Lines[0].FunctionId).Name,
            l => profile.Mappings.FirstOrDefault(m => m.Id == l.MappingId)?.Filename);
        Assert.Equal("[python]", mappingOf["leaf"]);
        Assert.Equal("/usr/bin/python3.11", mappingOf["_PyEval_EvalFrameDefault"]);
        Assert.Equal("[kernel.kallsyms]", mappingOf["do_syscall_64"]);
    }
}
