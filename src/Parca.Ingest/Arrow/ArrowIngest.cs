using Apache.Arrow;
using Parca.Storage;

namespace Parca.Ingest.Arrow;

/// <summary>
/// Parca's Arrow write protocols into storage: <c>WriteArrow</c> (an IPC stream of v2 sample records) and the v1
/// <c>Write</c> exchange (see <see cref="V1Exchange"/>).
/// A request is all-or-nothing: everything is read and checked before the first profile is stored.
/// </summary>
internal sealed class ArrowIngest(ProfileCommit commit, long maxDecodedBytes)
{
    /// <summary>With the default limits (tests and benchmarks that build the ingest directly).</summary>
    public ArrowIngest(ProfileStore store, long maxDecodedBytes)
        : this(new ProfileCommit(store, IngestLimits.Default), maxDecodedBytes)
    {
    }

    public const string SchemaVersionKey = "parca_write_schema_version";

    /// <summary>Rows of one series whose timestamps fall in the same 10 s window become one profile.</summary>
    public static readonly long BucketNanos = 10_000_000_000;

    /// <summary>
    /// The whole v1 Write exchange must finish within this time, whatever the client's deadline (Parca allows 5 s;
    /// more here because a loaded two-core machine can take longer to read a large locations record).
    /// </summary>
    public TimeSpan WriteExchangeLimit { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The most the Arrow reader may allocate (decompressed buffers and copied bodies) for one message.</summary>
    public long MaxDecodedBytes => maxDecodedBytes;

    /// <summary>Stores the v2 sample records of a WriteArrow request; returns the number of samples stored.</summary>
    public long WriteArrow(ReadOnlyMemory<byte> ipc)
    {
        // Disposing returns the request's pooled buffers, once its profiles are stored (or refused).
        using var symbols = new SymbolTable();
        using var groups = new ProfileGroups(symbols, BucketNanos);
        ArrowIpc.ReadAll(ipc, maxDecodedBytes + ipc.Length, "ipc_buffer", (batch, index) =>
        {
            groups.Source = $"ipc_buffer: record batch {index}";
            if (!IsSampleRecord(batch))
            {
                throw new IngestError("unrecognized record: a sample record (with a 'value' column) was expected");
            }

            if (SchemaVersion(batch) != "v2")
            {
                // An IPC stream has one schema, so a v1 sample record cannot travel with its locations record here.
                throw new IngestError("v1 records go through Write (their stacks follow in a second message); WriteArrow takes v2");
            }

            V2SampleRecord.Add(batch, groups, symbols);
        });

        return Store(groups, "ipc_buffer");
    }

    internal static bool IsSampleRecord(RecordBatch batch) => batch.Schema.GetFieldIndex("value") >= 0;

    /// <summary>The record's schema version: "v1" or "v2"; anything else is refused.</summary>
    internal static string SchemaVersion(RecordBatch batch)
    {
        var metadata = batch.Schema.Metadata;
        if (metadata is null || !metadata.TryGetValue(SchemaVersionKey, out var version))
        {
            throw new IngestError($"the schema has no '{SchemaVersionKey}' metadata (v1 or v2 expected)");
        }

        return version is "v1" or "v2" ? version : throw new IngestError($"unsupported {SchemaVersionKey} '{version}' (v1 or v2 expected)");
    }

    /// <summary>Stores the request's profiles through the shared ingest step (limits, time window, storage).</summary>
    internal long Store(ProfileGroups groups, string request) => commit.Store(groups, request);
}
