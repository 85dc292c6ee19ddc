using FsCheck;
using FsCheck.Xunit;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Profiles.V1Development;
using Parca.Agent.Shipping.Arrow;
using Parca.Ingest;
using Parca.Ingest.Arrow;
using Parca.Ingest.Otlp;
using Parca.Server.Tests.Arrow;
using Parca.Server.Tests.Otlp;
using Parca.Storage;

namespace Parca.Server.Tests;

/// <summary>
/// Fuzz properties of the two binary ingest protocols reachable from the network besides pprof (which has its own in
/// Parca.Pprof.Tests): Parca's Arrow v2 records (<c>WriteArrow</c>) and OTLP profiles (<c>Export</c>). A valid
/// request with bytes overwritten anywhere is either stored or refused with an <see cref="IngestError"/> whose
/// status is INVALID_ARGUMENT (or RESOURCE_EXHAUSTED for a budget); any other exception would reach the client as
/// INTERNAL and is a bug. The store keeps answering afterwards: what was stored sums to what was acknowledged.
/// </summary>
public sealed class IngestProperties
{
    private static readonly long s_now = WriteArrowTests.Now;

    private static readonly byte[][] s_arrowRecords =
    [
        Record(lz4: false),
        Record(lz4: true),
    ];

    private static readonly byte[] s_otlp = OtlpBytes();

    [Property(MaxTest = 600)]
    public void Mutated_arrow_records_are_stored_or_refused_as_invalid_argument(bool lz4, int[]? positions, byte[]? values)
    {
        var bytes = Mutate(s_arrowRecords[lz4 ? 1 : 0], positions, values);
        using var store = new ProfileStore(new StorageOptions());
        var ingest = new ArrowIngest(store, 16 << 20);
        StoredOrRefused(store, () => ingest.WriteArrow(bytes));
    }

    [Property(MaxTest = 600)]
    public void Mutated_otlp_requests_are_stored_or_refused_as_invalid_argument(int[]? positions, byte[]? values)
    {
        var bytes = Mutate(s_otlp, positions, values);
        ExportProfilesServiceRequest request;
        try
        {
            request = ExportProfilesServiceRequest.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException)
        {
            return; // refused by the protobuf layer before our code runs (INVALID_ARGUMENT / HTTP 400 on the wire)
        }

        using var store = new ProfileStore(new StorageOptions());
        var ingest = new OtlpIngest(new ProfileCommit(store, IngestLimits.Default));
        StoredOrRefused(store, () => ingest.Export(request));
    }

    [Fact]
    public void The_unmutated_requests_are_stored()
    {
        foreach (var record in s_arrowRecords)
        {
            using var store = new ProfileStore(new StorageOptions());
            Assert.Equal(4, new ArrowIngest(store, 16 << 20).WriteArrow(record));
        }

        using var otlpStore = new ProfileStore(new StorageOptions());
        Assert.True(new OtlpIngest(new ProfileCommit(otlpStore, IngestLimits.Default)).Export(ExportProfilesServiceRequest.Parser.ParseFrom(s_otlp)) > 0);
    }

    private static void StoredOrRefused(ProfileStore store, Func<long> write)
    {
        try
        {
            var stored = write();
            Assert.True(stored >= 0);
        }
        catch (IngestError e)
        {
            Assert.True(e.Status is Parca.Rpc.StatusCode.InvalidArgument or Parca.Rpc.StatusCode.ResourceExhausted, $"{e.Status}: {e.Message}");
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
            // All or nothing: a refused request stored nothing.
            Assert.Equal(0, store.Partitions.Sum(p => p.View().RowCount));
        }
    }

    /// <summary>Overwrites bytes at the given positions (modulo the length), most of them past the first 16 bytes so
    /// that the stream's framing survives often enough for the record contents to be reached.</summary>
    private static byte[] Mutate(byte[] original, int[]? positions, byte[]? values)
    {
        var bytes = (byte[])original.Clone();
        positions ??= [];
        values ??= [];
        for (var i = 0; i < Math.Min(positions.Length, values.Length); i++)
        {
            bytes[(int)((uint)positions[i] % (uint)bytes.Length)] = values[i];
        }

        return bytes;
    }

    private static byte[] Record(bool lz4) => V2RecordWriter.Write(
    [
        [
            TestRows.Of("main;a;b", 1, s_now, ("pid", "1"), ("comm", "app")),
            TestRows.Of("main;a;b", 2, s_now + 1, ("pid", "2"), ("comm", "app")),
            TestRows.Of("main;a", 3, s_now + 2, ("pid", "1"), ("comm", "app")),
            TestRows.Of("main;c", 4, s_now + 3, ("pid", "1"), ("comm", null)),
        ],
    ], lz4);

    private static byte[] OtlpBytes()
    {
        var json = OtlpExportTests.CpuRequest("fuzz").Build().ToJsonString();
        return JsonParser.Default.Parse<ExportProfilesServiceRequest>(json).ToByteArray();
    }
}
