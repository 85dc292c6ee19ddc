using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;
using Crc = Parca.Storage.Wal.WalChecksum;

namespace Parca.Storage.Wal;

/// <summary>
/// Reads a log segment as a stream of record payloads (a segment can hold gigabytes). Format 2 (with
/// <see cref="WriteAheadLog.SegmentMagic"/>): a record whose header or payload fails its checksum is skipped and the
/// reader searches for the next <see cref="WriteAheadLog.RecordMarker"/> whose header and payload check out, so one
/// damaged record costs only itself; every skipped byte range is reported. Format 1 (segments written before the
/// framing, no magic): [u32 length][u32 CRC-32C][payload] records, read until the first bad one as that version did.
/// Lengths are checked against the file's size before anything is allocated.
/// </summary>
internal static class WalSegmentReader
{
    /// <summary>Largest record accepted back (a length beyond it is garbage, not a record).</summary>
    public const int MaxRecordBytes = 1 << 30;

    private const int ScanChunk = 64 * 1024;

    public static IEnumerable<byte[]> Read(string path, Action<string> problem)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.SequentialScan);
        var size = RandomAccess.GetLength(file);
        var magic = new byte[WriteAheadLog.SegmentMagic.Length];
        var got = RandomAccess.Read(file, magic, 0);
        var framed = got == magic.Length && magic.AsSpan().SequenceEqual(WriteAheadLog.SegmentMagic);
        if (!framed && TryRecordAt(file, size, magic.Length, new byte[WriteAheadLog.HeaderBytes], out _) is not null)
        {
            // A damaged magic in front of a valid framed record: still format 2.
            problem($"{path}: damaged segment header (bytes 0..{magic.Length}); read as format 2");
            framed = true;
        }

        var records = framed ? ReadFramed(file, size, path, problem) : ReadUnframed(file, size, path, problem);
        foreach (var record in records)
        {
            yield return record;
        }
    }

    private static IEnumerable<byte[]> ReadFramed(SafeFileHandle file, long size, string path, Action<string> problem)
    {
        var header = new byte[WriteAheadLog.HeaderBytes];
        long at = WriteAheadLog.SegmentMagic.Length;
        long skippedFrom = -1;
        string? reason = null;
        while (at < size)
        {
            var payload = TryRecordAt(file, size, at, header, out var why);
            if (payload is not null)
            {
                if (skippedFrom >= 0)
                {
                    problem($"{path}: skipped bytes {skippedFrom}..{at} ({at - skippedFrom} bytes): {reason}; replay resumed at the next valid record");
                    skippedFrom = -1;
                }

                yield return payload;
                at += WriteAheadLog.HeaderBytes + payload.Length;
                continue;
            }

            if (skippedFrom < 0)
            {
                skippedFrom = at;
                reason = why;
            }

            at = NextMarker(file, size, at + 1);
        }

        if (skippedFrom >= 0)
        {
            problem($"{path}: skipped bytes {skippedFrom}..{size} ({size - skippedFrom} bytes, to the end of the segment): {reason}");
        }
    }

    /// <summary>The record at <paramref name="at"/>, or null with the reason it is not one.</summary>
    private static byte[]? TryRecordAt(SafeFileHandle file, long size, long at, byte[] header, out string why)
    {
        if (size - at < WriteAheadLog.HeaderBytes)
        {
            why = "a record header cut short (a write cut short)";
            return null;
        }

        RandomAccess.Read(file, header, at);
        var span = header.AsSpan();
        var length = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(span) != WriteAheadLog.RecordMarker)
        {
            why = "no record marker";
            return null;
        }

        if (Crc.Compute(span[..12]) != BinaryPrimitives.ReadUInt32LittleEndian(span[12..]))
        {
            why = "record header checksum mismatch";
            return null;
        }

        var left = size - at - WriteAheadLog.HeaderBytes;
        if (length > MaxRecordBytes || length > left)
        {
            why = $"record length {length} exceeds the {left} bytes left in the file";
            return null;
        }

        var payload = new byte[length];
        if (RandomAccess.Read(file, payload, at + WriteAheadLog.HeaderBytes) != length)
        {
            why = "the file shrank while it was read";
            return null;
        }

        if (Crc.Compute(payload) != BinaryPrimitives.ReadUInt32LittleEndian(span[8..]))
        {
            why = "record checksum mismatch";
            return null;
        }

        why = "";
        return payload;
    }

    /// <summary>The offset of the next record marker at or after <paramref name="from"/>, or <paramref name="size"/>.</summary>
    private static long NextMarker(SafeFileHandle file, long size, long from)
    {
        Span<byte> marker = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(marker, WriteAheadLog.RecordMarker);
        var chunk = new byte[ScanChunk];
        while (from + marker.Length <= size)
        {
            var n = RandomAccess.Read(file, chunk, from);
            if (n < marker.Length)
            {
                break;
            }

            var i = chunk.AsSpan(0, n).IndexOf(marker);
            if (i >= 0)
            {
                return from + i;
            }

            from += n - (marker.Length - 1); // a marker may straddle two chunks
        }

        return size;
    }

    /// <summary>Format 1: records until the first torn or corrupt one, which ends the segment.</summary>
    private static IEnumerable<byte[]> ReadUnframed(SafeFileHandle file, long size, string path, Action<string> problem)
    {
        var header = new byte[8];
        long at = 0;
        while (at < size)
        {
            if (size - at < header.Length)
            {
                problem($"{path}: torn record header at byte {at} (format 1 segment); {size - at} bytes dropped");
                yield break;
            }

            RandomAccess.Read(file, header, at);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
            var left = size - at - header.Length;
            if (length > MaxRecordBytes || length > left)
            {
                problem($"{path}: torn or corrupt record at byte {at} (format 1 segment, length {length}, {left} bytes left); the rest of the segment is dropped");
                yield break;
            }

            var payload = new byte[length];
            RandomAccess.Read(file, payload, at + header.Length);
            if (Crc.Compute(payload) != crc)
            {
                problem($"{path}: checksum mismatch in the record at byte {at} (format 1 segment); the rest of the segment is dropped");
                yield break;
            }

            yield return payload;
            at += header.Length + length;
        }
    }
}
