using BenchmarkDotNet.Attributes;
using Parca.LoadGen;
using Parca.Storage;
using Parca.Storage.Blocks;
using Parca.Storage.Buckets;
using Parca.Storage.Head;

namespace Parca.Benchmarks.Storage;

/// <summary>
/// Bucket compaction's merge (HeadPartition.Import, then the block build): twelve hourly blocks of 10 series at 10 s
/// (4,320 profiles of the synthetic fleet) into one block. Samples per operation: the blocks' sample count.
/// </summary>
[MemoryDiagnoser]
public class BlockMergeBenchmarks
{
    private PartitionView[] _inputs = [];

    [GlobalSetup]
    public void Setup()
    {
        var w = new Workload();
        var rng = new Random(3);
        var variants = Enumerable.Range(0, 64).Select(i => w.Ingest(rng, i, 200)).ToArray();
        var labels = Enumerable.Range(0, 10).Select(i => LabelSet.From(("job", "svc"), ("instance", $"i-{i}"))).ToArray();
        _inputs = [.. Enumerable.Range(0, 12).Select(h =>
        {
            var head = new HeadPartition();
            for (var t = 0; t < 360; t++)
            {
                for (var s = 0; s < labels.Length; s++)
                {
                    var p = variants[(t + s) & 63];
                    p.TimeNanos = ((h * 360) + t) * 10_000_000_000L;
                    head.Append("parca_agent", labels[s], p);
                }
            }

            head.Seal();
            return BlockBuilder.Build(head.View(), $"h{h}").View();
        })];
    }

    [Benchmark]
    public long MergeTwelveHourlyBlocks() => BlockMerge.Merge(_inputs, "merged", CancellationToken.None).SampleCount;
}
