using System.Globalization;
using Parca.Storage.Blocks;
using Parca.Storage.Head;
using Parca.Storage.Wal;

namespace Parca.Storage;

/// <summary>
/// Start-up: block files and log segments are validated (regular files only, lengths checked against the file
/// before anything is allocated); a bad one is moved to &lt;path&gt;/quarantine with one line in
/// <see cref="LoadErrors"/> and the store starts with the rest. Damaged data never stops the start.
/// </summary>
public sealed partial class ProfileStore
{
    /// <summary>Block files larger than this are not read (a block is built from one head, far smaller).</summary>
    private const long MaxBlockFileBytes = int.MaxValue - 4096;

    private bool _replayedHeadToFlush;

    private string QuarantineDirectory => System.IO.Path.Combine(_options.Path!, "quarantine");

    /// <summary>
    /// &lt;path&gt;/<paramref name="name"/> as a directory; a file (or a link to anything but a directory) found there is
    /// quarantined first. A link to a directory is kept: operators put blocks or the log on another disk that way.
    /// </summary>
    private string EnsureDirectory(string name)
    {
        var path = System.IO.Path.Combine(_options.Path!, name);
        var info = new DirectoryInfo(path);
        var kind = Internal.FileKind.Of(path);
        if (!Directory.Exists(path) && kind != Internal.FileKind.Kind.Missing)
        {
            Quarantine(path, info.LinkTarget is not null ? $"is a symbolic link (to {info.LinkTarget}), not a directory"
                : kind == Internal.FileKind.Kind.Regular ? "is a file, not a directory" : $"is {Internal.FileKind.Describe(kind)}, not a directory");
        }

        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Moves a bad file aside (never deletes it: an operator may want it) and records one line.</summary>
    private void Quarantine(string path, string reason)
    {
        Directory.CreateDirectory(QuarantineDirectory);
        var target = System.IO.Path.Combine(QuarantineDirectory, System.IO.Path.GetFileName(path));
        for (var i = 1; File.Exists(target) || Directory.Exists(target); i++)
        {
            target = System.IO.Path.Combine(QuarantineDirectory, $"{System.IO.Path.GetFileName(path)}.{i}");
        }

        try
        {
            File.Move(path, target);
            _loadErrors.Add($"{path}: {reason}; moved to {target}");
        }
        catch (IOException e)
        {
            _loadErrors.Add($"{path}: {reason}; skipped (could not move it to {QuarantineDirectory}: {e.Message})");
        }
    }

    /// <summary>
    /// Why <paramref name="path"/> is not a file to read, or null. Symbolic links are refused (a link to /dev/zero
    /// or out of the data directory is never followed), and so are FIFOs (opening one blocks start-up until a writer
    /// comes), sockets and device nodes, told apart by lstat without opening them.
    /// </summary>
    private static string? NotARegularFile(string path, long maxBytes)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is not null)
        {
            return $"is a symbolic link (to {info.LinkTarget}); only regular files are read";
        }

        if ((info.Attributes & FileAttributes.Directory) != 0)
        {
            return "is a directory, not a file";
        }

        var kind = Internal.FileKind.Of(path);
        if (kind is not (Internal.FileKind.Kind.Regular or Internal.FileKind.Kind.Missing))
        {
            return $"is {Internal.FileKind.Describe(kind)}; only regular files are read";
        }

        return info.Length > maxBytes ? $"is {info.Length} bytes, more than the {maxBytes} a file of this kind can hold" : null;
    }

    private List<Partition> LoadBlocks(string dir)
    {
        var blocks = new List<Partition>();
        foreach (var tmp in Directory.EnumerateFiles(dir, "*" + BlockFormat.Extension + ".tmp"))
        {
            File.Delete(tmp); // a write cut short; its head is still in the log (or was lost with the crash)
        }

        foreach (var file in Directory.EnumerateFileSystemEntries(dir, "*" + BlockFormat.Extension))
        {
            if (NotARegularFile(file, MaxBlockFileBytes) is { } why)
            {
                Quarantine(file, why);
                continue;
            }

            try
            {
                blocks.Add(BlockReader.ReadFile(file));
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException or OverflowException or IndexOutOfRangeException)
            {
                Quarantine(file, e is InvalidDataException ? e.Message.Replace(file + ": ", "", StringComparison.Ordinal) : $"unreadable: {e.Message}");
            }
        }

        return blocks;
    }

    /// <summary>
    /// Opens the log: segments covered by blocks on disk are deleted, the others are replayed into the head, and the
    /// head gets a new segment. The replayed segments stay until that head is on disk.
    /// </summary>
    private WriteAheadLog OpenWal(string directory, List<Partition> blocks, Func<long, bool>? inBucket)
    {
        var segments = UsableSegments(directory);
        var onDisk = CoveredSegments(blocks, segments);
        var covered = inBucket is null ? onDisk : s => onDisk(s) || inBucket(s);
        var replay = new List<(long Sequence, string Path)>();
        foreach (var segment in segments)
        {
            if (covered(segment.Sequence))
            {
                File.Delete(segment.Path);
            }
            else
            {
                replay.Add(segment);
            }
        }

        var wal = new WriteAheadLog(directory, _options.Time); // a new segment, numbered after every existing one
        var head = NewHead(replay.Count > 0 ? replay[0].Sequence : wal.CurrentSequence);
        foreach (var (_, path) in replay)
        {
            Replay(path, head);
        }

        _head = head;
        return wal;
    }

    private void Replay(string path, HeadPartition head)
    {
        foreach (var bytes in WalSegmentReader.Read(path, _loadErrors.Add))
        {
            try
            {
                var (name, labels, profile) = WalRecordCodec.Decode(bytes);
                head.Append(name, labels, profile);
                ReplayedProfiles++;
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException or OverflowException or FormatException)
            {
                _loadErrors.Add($"{path}: skipped a record that passed its checksum but does not decode: {e.Message}");
            }
        }
    }

    /// <summary>Segment files that are regular files (others are quarantined).</summary>
    private List<(long Sequence, string Path)> UsableSegments(string directory)
    {
        var usable = new List<(long, string)>();
        foreach (var (sequence, path) in WriteAheadLog.Segments(directory))
        {
            if (NotARegularFile(path, long.MaxValue) is { } why)
            {
                Quarantine(path, why);
            }
            else
            {
                usable.Add((sequence, path));
            }
        }

        return usable;
    }

    /// <summary>
    /// Which segments are in blocks already. A block id names the segment range of its head and its part number
    /// ("&lt;16 hex&gt;-r&lt;first 8 hex&gt;&lt;last 8 hex&gt;-&lt;part 2 hex&gt;&lt;parts 2 hex&gt;-&lt;token&gt;"); a range
    /// counts once all parts are there. A head whose parts were cut short by a crash still has its segments: those
    /// parts are deleted (the replay brings their profiles back). Ids of the previous version
    /// ("&lt;16 hex&gt;-w&lt;last 8 hex&gt;-...") cover every segment up to theirs.
    /// </summary>
    private Func<long, bool> CoveredSegments(List<Partition> blocks, List<(long Sequence, string Path)> segments)
    {
        long legacy = 0;
        var groups = new Dictionary<string, List<BlockPartition>>();
        foreach (var p in blocks)
        {
            if (p is not BlockPartition b)
            {
                continue;
            }

            if (WalSequenceOf(b.Id) is { } last)
            {
                legacy = Math.Max(legacy, last);
            }
            else if (WalRangeOf(b.Id) is { } r)
            {
                var key = b.Id[17..34] + b.Id[37..];
                if (!groups.TryGetValue(key, out var list))
                {
                    groups[key] = list = [];
                }

                list.Add(b);
            }
        }

        var ranges = new List<(long First, long Last)>();
        foreach (var (_, parts) in groups)
        {
            var r = WalRangeOf(parts[0].Id)!.Value;
            if (parts.Count == r.Parts)
            {
                ranges.Add((r.First, r.Last));
                continue;
            }

            if (segments.Exists(s => s.Sequence >= r.First && s.Sequence <= r.Last))
            {
                foreach (var part in parts)
                {
                    blocks.Remove(part);
                    File.Delete(part.FilePath!);
                    _loadErrors.Add($"{part.FilePath}: part of a compaction cut short ({parts.Count} of {r.Parts} blocks written); deleted, its profiles are replayed from the log");
                }
            }
        }

        return sequence => sequence <= legacy || ranges.Exists(r => sequence >= r.First && sequence <= r.Last);
    }

    /// <summary>With the log off: segments left by an earlier run are refused, replayed into a block, or discarded as configured.</summary>
    private void HandleLeftoverWal(List<Partition> blocks)
    {
        var directory = System.IO.Path.Combine(_options.Path!, "wal");
        if (!Directory.Exists(directory) && !File.Exists(directory))
        {
            return;
        }

        directory = EnsureDirectory("wal");
        var segments = UsableSegments(directory);
        var covered = CoveredSegments(blocks, segments);
        var leftover = new List<(long Sequence, string Path)>();
        foreach (var s in segments)
        {
            if (covered(s.Sequence))
            {
                File.Delete(s.Path);
            }
            else if (new FileInfo(s.Path).Length <= WriteAheadLog.SegmentMagic.Length)
            {
                File.Delete(s.Path); // an empty segment holds nothing to decide about
            }
            else
            {
                leftover.Add(s);
            }
        }

        if (leftover.Count == 0)
        {
            return;
        }

        switch (_options.WalLeftover)
        {
            case WalLeftoverPolicy.Refuse:
                throw new StorageStartupException(
                    $"{directory} holds {leftover.Count} write-ahead log segment(s) not yet in blocks, but the log is disabled; " +
                    "start with --storage-enable-wal to replay and keep using it, or choose --storage-wal-leftover=replay " +
                    "(replay them into blocks, then run without the log) or --storage-wal-leftover=discard (delete them and their profiles)");
            case WalLeftoverPolicy.Discard:
                foreach (var s in leftover)
                {
                    File.Delete(s.Path);
                }

                _loadErrors.Add($"{directory}: discarded {leftover.Count} write-ahead log segment(s) (--storage-wal-leftover=discard)");
                return;
            default:
                foreach (var s in leftover)
                {
                    Replay(s.Path, _head);
                }

                _head.LeftoverSegments = [.. leftover.Select(s => s.Path)];
                _replayedHeadToFlush = true;
                return;
        }
    }

    /// <summary>The last log segment a block covers, from ids of the previous version "&lt;16 hex&gt;-w&lt;8 hex&gt;-..."; null for others.</summary>
    internal static long? WalSequenceOf(string blockId) =>
        blockId.Length >= 26 && blockId[16] == '-' && blockId[17] == 'w'
            && long.TryParse(blockId.AsSpan(18, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var sequence)
            ? sequence
            : null;

    /// <summary>Segment range and part of ids "&lt;16 hex&gt;-r&lt;first 8 hex&gt;&lt;last 8 hex&gt;-&lt;part 2 hex&gt;&lt;parts 2 hex&gt;-&lt;token&gt;".</summary>
    internal static (long First, long Last, int Part, int Parts)? WalRangeOf(string blockId) =>
        blockId.Length >= 40 && blockId[16] == '-' && blockId[17] == 'r' && blockId[34] == '-' && blockId[39] == '-'
            && long.TryParse(blockId.AsSpan(18, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var first)
            && long.TryParse(blockId.AsSpan(26, 8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var last)
            && int.TryParse(blockId.AsSpan(35, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var part)
            && int.TryParse(blockId.AsSpan(37, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var parts)
            && parts > 0
            ? (first, last, part, parts)
            : null;
}
