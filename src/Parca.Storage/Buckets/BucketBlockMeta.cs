using System.Text.Json;
using System.Text.Json.Serialization;
using Parca.Storage.Blocks;

namespace Parca.Storage.Buckets;

/// <summary>
/// <c>blocks/&lt;id&gt;/meta.json</c>: the object that makes a block visible. It is written after every part file,
/// so a block whose upload was cut short has no meta and is never read. It records the part files with their size,
/// CRC-32C and section table (cold reads fetch single sections by range), and the sources: which ingester's
/// write-ahead log segments the block holds, so a restarted ingester knows what it must not replay, even after
/// compaction merged the block into a larger one.
/// </summary>
internal sealed class BucketBlockMeta
{
    public const string BlocksPrefix = "blocks/";
    public const string MetaName = "meta.json";

    public int Version { get; set; } = 1;

    /// <summary>"&lt;ingester&gt;/&lt;first segment 8 hex&gt;&lt;last segment 8 hex&gt;-&lt;token&gt;", or "compacted/&lt;...&gt;".</summary>
    public string Id { get; set; } = "";

    public long MinTimeNanos { get; set; }

    public long MaxTimeNanos { get; set; }

    /// <summary>Compaction level: 0 for a block cut from a head, else the level whose window it merged (BucketCompactionPlan).</summary>
    public int Level { get; set; }

    /// <summary>The level-0 block ids this block holds (itself for a level-0 block): readers count each input once (ProfileStore.VisibleBlocks).</summary>
    public List<string> Inputs { get; set; } = [];

    public List<BucketSource> Sources { get; set; } = [];

    public List<BucketPart> Parts { get; set; } = [];

    public static string MetaKey(string id) => $"{BlocksPrefix}{id}/{MetaName}";

    public static string PartKey(string id, int part) => $"{BlocksPrefix}{id}/{part:x2}{BlockFormat.Extension}";

    /// <summary>The block id of a meta key, or null for other keys (part files, temporaries).</summary>
    public static string? IdOfMetaKey(string key) =>
        key.StartsWith(BlocksPrefix, StringComparison.Ordinal) && key.EndsWith("/" + MetaName, StringComparison.Ordinal)
            ? key[BlocksPrefix.Length..^(MetaName.Length + 1)]
            : null;

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, BucketJson.Default.BucketBlockMeta);

    public static BucketBlockMeta Parse(byte[] json, string key) =>
        JsonSerializer.Deserialize(json, BucketJson.Default.BucketBlockMeta) is { Version: 1, Parts.Count: > 0 } meta
            ? meta
            : throw new InvalidDataException($"{key}: not a block meta of version 1");
}

/// <summary>A range of one ingester's log segments that a block holds.</summary>
internal sealed class BucketSource
{
    public string Ingester { get; set; } = "";

    public long WalFirst { get; set; }

    public long WalLast { get; set; }
}

/// <summary>One block file of a bucket block (a head usually gives one; profiles hours apart give more).</summary>
internal sealed class BucketPart
{
    public long Size { get; set; }

    public uint Crc32C { get; set; }

    public long MinTimeNanos { get; set; }

    public long MaxTimeNanos { get; set; }

    public long Profiles { get; set; }

    public long Samples { get; set; }

    public List<BucketSection> Sections { get; set; } = [];
}

internal sealed class BucketSection
{
    public uint Id { get; set; }

    public uint Codec { get; set; }

    public long Offset { get; set; }

    public long Stored { get; set; }

    public int Raw { get; set; }

    public uint Crc { get; set; }

    public SectionEntry ToEntry() => new((BlockFormat.Section)Id, Codec, Offset, Stored, Raw, Crc);
}

/// <summary>Lease object of the bucket compactor (<c>compactor.lease</c>).</summary>
internal sealed class BucketLease
{
    public string Owner { get; set; } = "";

    public DateTimeOffset Expires { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(BucketBlockMeta))]
[JsonSerializable(typeof(BucketLease))]
internal sealed partial class BucketJson : JsonSerializerContext;
