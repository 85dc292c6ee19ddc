using Parca.Agent.Shipping.Arrow;
using Parca.Ingest;
using Parca.Ingest.Arrow;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Storage;

namespace Parca.Server.Tests.Arrow;

/// <summary>
/// The profiles of one WriteArrow request share one symbol table, so storage hashes its locations once for all of
/// them (<see cref="ProfileStore.AppendAll"/>). What that stores must be exactly what appending the same profiles one
/// at a time (each hashing the whole table, as before) stores: the query results are compared byte for byte.
/// </summary>
public sealed class SharedSymbolHashingTests
{
    private static readonly string[] s_jobs = ["a", "b", "c"];

    [Fact]
    public void A_request_stored_with_shared_hashes_reads_back_byte_identical_to_one_profile_at_a_time()
    {
        var now = WriteArrowTests.Now;
        var batches = Batches(now, out var expectedCpu);
        var record = V2RecordWriter.Write(batches, lz4: true, overlap: true);

        using var shared = new ProfileStore(new StorageOptions());
        var stored = new ArrowIngest(shared, 64 << 20).WriteArrow(record);

        using var oneByOne = new ProfileStore(new StorageOptions());
        var symbols = new SymbolTable();
        var groups = new ProfileGroups(symbols, ArrowIngest.BucketNanos);
        ArrowIpc.ReadAll(record, 64 << 20, "ipc_buffer", (batch, _) => V2SampleRecord.Add(batch, groups, symbols));
        var profiles = groups.Build();
        // 3 jobs × 2 buckets of CPU samples, and one memory profile per job.
        Assert.Equal(9, profiles.Count);
        // One table for all: what lets storage hash it once.
        Assert.All(profiles, p =>
        {
            Assert.Same(profiles[0].Profile.Locations, p.Profile.Locations);
            Assert.Same(profiles[0].Profile.StringRanges, p.Profile.StringRanges);
        });
        long storedOneByOne = 0;
        foreach (var (name, labels, profile) in profiles)
        {
            storedOneByOne += oneByOne.Append(name, labels, profile);
        }

        Assert.Equal(storedOneByOne, stored);
        foreach (var job in s_jobs)
        {
            foreach (var type in new[] { "parca_agent:samples:count:cpu:nanoseconds:delta", "memory:inuse_space:bytes:space:bytes" })
            {
                var selection = ProfileSelection.Merge($"{type}{{job=\"{job}\"}}", now - 1_000_000_000, now + (3 * ArrowIngest.BucketNanos));
                var expected = new QueryEngine(oneByOne).Query(selection);
                var actual = new QueryEngine(shared).Query(selection);
                Assert.Equal(expected.Total, actual.Total);
                Assert.Equal(PprofReport.Build(expected), PprofReport.Build(actual));
            }

            // And both are right, not merely equal: the CPU total is the rows' counts times the period.
            var cpu = new QueryEngine(shared).Query(ProfileSelection.Merge(
                $"parca_agent:samples:count:cpu:nanoseconds:delta{{job=\"{job}\"}}", now - 1_000_000_000, now + (3 * ArrowIngest.BucketNanos)));
            Assert.Equal(expectedCpu[job] * WriteArrowTests.CpuPeriod, cpu.Total);
        }
    }

    /// <summary>
    /// Two batches over three jobs and two time buckets, with frames shared across jobs, symbolized and bare native
    /// frames, empty and null stacks, and a memory profile per job; <paramref name="expectedCpu"/> is each job's
    /// count of CPU samples that land on a stack (the root's own value is not in a merge's total).
    /// </summary>
    private static List<ArrowSample[]> Batches(long now, out Dictionary<string, long> expectedCpu)
    {
        var rng = new Random(16);
        var frames = Enumerable.Range(0, 60).Select(i => i % 7 == 0
            ? new Frame((ulong)(0x4000 + (i * 16)), "native", "/usr/lib/libc.so.6", "abc123")
            : TestRows.Symbolized($"fn{i}", (ulong)(0x1000 + (i * 16)), $"/src/f{i % 5}.c", (ulong)i)).ToArray();
        expectedCpu = s_jobs.ToDictionary(j => j, _ => 0L);
        var result = new List<ArrowSample[]>();
        for (var b = 0; b < 2; b++)
        {
            var rows = new List<ArrowSample>();
            for (var r = 0; r < 300; r++)
            {
                var job = s_jobs[rng.Next(s_jobs.Length)];
                var time = now + (rng.Next(2) * ArrowIngest.BucketNanos) + r;
                var depth = rng.Next(0, 12);
                Frame[]? stack = r % 50 == 7 ? null : [.. Enumerable.Range(0, depth).Select(_ => frames[rng.Next(frames.Length)])];
                var value = (long)rng.Next(1, 9);
                if (stack is { Length: > 0 })
                {
                    expectedCpu[job] += value;
                }

                rows.Add(new ArrowSample(stack, value, new Dictionary<string, string?> { ["job"] = job, ["comm"] = "app" }, time));
            }

            if (b == 1)
            {
                foreach (var job in s_jobs)
                {
                    rows.Add(new ArrowSample([frames[1], frames[2]], 4096, new Dictionary<string, string?> { ["job"] = job, ["comm"] = "app" }, now + 5)
                    {
                        Producer = "memory",
                        SampleType = "inuse_space",
                        SampleUnit = "bytes",
                        PeriodType = "space",
                        PeriodUnit = "bytes",
                        Period = 524288,
                        Duration = 0,
                        Temporality = null,
                    });
                }
            }

            result.Add([.. rows]);
        }

        return result;
    }
}
