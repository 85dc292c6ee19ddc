using Parca.Agent.Shipping.Arrow;
using Parca.Server.Ingest.Arrow;
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
}
