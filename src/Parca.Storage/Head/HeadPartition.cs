using System.Buffers;
using Parca.Storage.Ingest;
using Parca.Storage.Internal;
using Parca.Storage.Series;
using Parca.Storage.Stacks;
using Parca.Storage.Symbols;

namespace Parca.Storage.Head;

/// <summary>
/// The mutable in-memory partition. Appends are serialized by one lock (decoding happens before, in parallel);
/// queries read snapshots and never take the lock.
/// </summary>
internal sealed partial class HeadPartition : Partition
{
    private const int ChunkSize = 1 << 16;

    private readonly Lock _writeLock = new();
    private readonly SymbolDb _symbols = new();
    private readonly StackTree _tree = new();
    private readonly SampleLabelDb _sampleLabels = new();
    private readonly SeriesIndex _series = new();
    private readonly AppendList<ProfileRow> _rows = new(1024);
    private readonly AppendList<SampleChunk> _chunks = new(16);
    private long _minTime = long.MaxValue;
    private long _maxTime = long.MinValue;
    private long _sampleCount;
    private long _chunkBytes;
    private bool _sealed;

    /// <summary>
    /// With the write-ahead log on: the first log segment holding this head's appends (replayed segments included);
    /// segments <see cref="WalFirstSequence"/> to <see cref="WalSequence"/> can go once this head's blocks are on
    /// disk. Zero without a log.
    /// </summary>
    public long WalFirstSequence { get; init; }

    /// <summary>The last log segment holding this head's appends (set when the head is sealed).</summary>
    public long WalSequence { get; set; }

    /// <summary>
    /// Most series this head takes (<see cref="StorageOptions.MaxActiveSeries"/>; 0: no limit). An append that would
    /// create more throws <see cref="SeriesLimitException"/> before changing anything.
    /// </summary>
    public int MaxSeries { get; init; }

    /// <summary>Series in this head: the server's active series.</summary>
    public int SeriesCount => _series.SeriesCount;

    /// <summary>When the head was opened (server clock): it is sealed after <see cref="StorageOptions.BlockDuration"/>.</summary>
    public DateTimeOffset OpenedAt { get; init; }

    /// <summary>Completed once this sealed head is in blocks (FlushAsync waits for it).</summary>
    internal TaskCompletionSource Compacted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Failed compaction attempts so far, and when the next one is due.</summary>
    internal int CompactionFailures { get; set; }

    internal DateTimeOffset RetryAt { get; set; }

    /// <summary>Leftover log segments replayed into this head with the log off: deleted once its blocks are written.</summary>
    internal List<string>? LeftoverSegments { get; set; }

    public HeadPartition()
    {
        _chunks.Add(new SampleChunk(ChunkSize));
        _chunkBytes = ChunkSize * 12L;
    }

    public override long MinTimeNanos => Volatile.Read(ref _minTime);

    public override long MaxTimeNanos => Volatile.Read(ref _maxTime);

    public bool IsEmpty => _rows.Count == 0;

    public long SampleCount => Volatile.Read(ref _sampleCount);

    public int ProfileCount => _rows.Count;

    /// <summary>Bytes the head holds, estimated from its buffers (what --storage-active-memory bounds).</summary>
    public long EstimatedBytes =>
        Volatile.Read(ref _chunkBytes) + _symbols.EstimatedBytes + _tree.EstimatedBytes + (_rows.Count * 64L) + (_series.SeriesCount * 256L);

    /// <summary>
    /// Appends one ingest profile as one logical profile per sample type. Samples whose value is 0 are dropped.
    /// Returns the number of samples stored, or −1 when the head was sealed (the caller retries on the new head).
    /// </summary>
    public long Append(string name, LabelSet labels, IngestProfile p)
    {
        var prepared = SymbolDb.Prepare(p);
        try
        {
            return Append(name, labels, prepared);
        }
        finally
        {
            prepared.Release();
        }
    }

    /// <summary>Appends a profile whose symbol hashes were computed beforehand, outside the lock.</summary>
    public long Append(string name, LabelSet labels, SymbolDb.Prepared prepared)
    {
        lock (_writeLock)
        {
            return _sealed ? -1 : AppendLocked(name, labels, prepared);
        }
    }

    /// <summary>Stops further appends (they return −1 and go to the next head); waits for an append in progress.</summary>
    public void Seal()
    {
        lock (_writeLock)
        {
            _sealed = true;
        }
    }

    /// <summary>Throws <see cref="SeriesLimitException"/> when appending would take the head past <see cref="MaxSeries"/>; changes nothing.</summary>
    public void CheckSeriesLimit(string name, LabelSet labels, IngestProfile p)
    {
        if (MaxSeries <= 0)
        {
            return;
        }

        lock (_writeLock)
        {
            CheckSeriesLimitLocked(name, labels, p);
        }
    }

    private void CheckSeriesLimitLocked(string name, LabelSet labels, IngestProfile p)
    {
        if (MaxSeries <= 0 || _series.SeriesCount + p.SampleTypes.Length <= MaxSeries)
        {
            return; // the common case: room even if every sample type were a new series
        }

        var added = 0;
        var periodType = p.GetString(p.PeriodType.Type);
        var periodUnit = p.GetString(p.PeriodType.Unit);
        foreach (var st in p.SampleTypes)
        {
            var type = new ProfileType(name, p.GetString(st.Type), p.GetString(st.Unit), periodType, periodUnit, p.DurationNanos != 0);
            if (!_series.Contains(type, labels))
            {
                added++;
            }
        }

        if (added > 0 && _series.SeriesCount + added > MaxSeries)
        {
            throw new SeriesLimitException(_series.SeriesCount, added, MaxSeries);
        }
    }

    private long AppendLocked(string name, LabelSet labels, SymbolDb.Prepared prepared)
    {
        var p = prepared.Profile;
        CheckSeriesLimitLocked(name, labels, p);
        var n = p.SampleCount;
        var stackIds = ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
        var labelSets = p.LabelOffsets is null ? null : ArrayPool<int>.Shared.Rent(Math.Max(n, 1));
        try
        {
            InsertStacks(prepared, stackIds);
            if (labelSets is not null)
            {
                InternSampleLabels(p, labelSets);
            }

            long stored = 0;
            var periodType = p.GetString(p.PeriodType.Type);
            var periodUnit = p.GetString(p.PeriodType.Unit);
            for (var t = 0; t < p.SampleTypes.Length; t++)
            {
                var st = p.SampleTypes[t];
                var type = new ProfileType(name, p.GetString(st.Type), p.GetString(st.Unit), periodType, periodUnit, p.DurationNanos != 0);
                var seriesId = _series.GetOrAdd(type, labels);
                stored += AppendSeriesProfile(seriesId, n, p.TimeNanos, p.DurationNanos, p.Period, p.Values[t], stackIds, labelSets);
            }

            return stored;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(stackIds);
            if (labelSets is not null)
            {
                ArrayPool<int>.Shared.Return(labelSets);
            }
        }
    }

    private void InsertStacks(SymbolDb.Prepared prepared, int[] stackIds)
    {
        var p = prepared.Profile;
        var hashes = prepared.Stacks;
        int[]? locMap = null;
        int[]? buf = null;
        try
        {
            var offsets = p.StackOffsets;
            var locs = p.StackLocations;
            for (var i = 0; i < p.SampleCount; i++)
            {
                if (_tree.TryGetByContent(hashes[i], out var known))
                {
                    stackIds[i] = known;
                    continue;
                }

                // A stack new to this partition: resolve the profile's locations (once) and insert it.
                locMap ??= _symbols.Intern(prepared);
                var start = offsets[i];
                var len = offsets[i + 1] - start;
                if (buf is null || len > buf.Length)
                {
                    if (buf is not null)
                    {
                        ArrayPool<int>.Shared.Return(buf);
                    }

                    buf = ArrayPool<int>.Shared.Rent(Math.Max(len, 256));
                }

                for (var k = 0; k < len; k++)
                {
                    buf[k] = locMap[locs[start + k]];
                }

                var node = _tree.Insert(buf.AsSpan(0, len));
                _tree.RememberContent(hashes[i], node);
                stackIds[i] = node;
            }
        }
        finally
        {
            if (buf is not null)
            {
                ArrayPool<int>.Shared.Return(buf);
            }
        }
    }

    private void InternSampleLabels(IngestProfile p, int[] labelSets)
    {
        // Only the strings the labels use are interned (a profile's table is mostly symbol names).
        var strIds = ArrayPool<int>.Shared.Rent(Math.Max(p.StringCount, 1));
        Array.Clear(strIds, 0, p.StringCount);
        try
        {
            InternSampleLabels(p, labelSets, strIds);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(strIds);
        }
    }

    private void InternSampleLabels(IngestProfile p, int[] labelSets, int[] strIds)
    {
        var offsets = p.LabelOffsets!;
        var labels = p.SampleLabels!;
        Span<SampleLabelSym> buf = stackalloc SampleLabelSym[32];
        for (var i = 0; i < p.SampleCount; i++)
        {
            var start = offsets[i];
            var len = offsets[i + 1] - start;
            var set = len <= buf.Length ? buf[..len] : new SampleLabelSym[len];
            for (var k = 0; k < len; k++)
            {
                var l = labels[start + k];
                set[k] = new SampleLabelSym(_symbols.StringId(p, l.Key, strIds), l.Str >= 0 ? _symbols.StringId(p, l.Str, strIds) : -1, l.Num, _symbols.StringId(p, l.NumUnit, strIds));
            }

            labelSets[i] = _sampleLabels.Intern(set);
        }
    }

    private long AppendSeriesProfile(int seriesId, int n, long timeNanos, long durationNanos, long period, long[] values, int[] stackIds, int[]? labelSets)
    {
        var nonZero = 0;
        for (var i = 0; i < n; i++)
        {
            if (values[i] != 0)
            {
                nonZero++;
            }
        }

        var chunkIndex = _chunks.Count - 1;
        var chunk = _chunks.WriterRef(chunkIndex);
        if (chunk.Used + nonZero > chunk.Capacity)
        {
            chunk = new SampleChunk(Math.Max(ChunkSize, nonZero));
            chunkIndex = _chunks.Add(chunk);
            Volatile.Write(ref _chunkBytes, _chunkBytes + (chunk.Capacity * 12L));
        }

        var hasLabels = false;
        if (labelSets is not null)
        {
            for (var i = 0; i < n && !hasLabels; i++)
            {
                hasLabels = values[i] != 0 && labelSets[i] != 0;
            }
        }

        if (hasLabels && chunk.LabelSets is null)
        {
            chunk.LabelSets = new int[chunk.Capacity];
            Volatile.Write(ref _chunkBytes, _chunkBytes + (chunk.Capacity * 4L));
        }

        var offset = chunk.Used;
        var stacks = chunk.Stacks;
        var vals = chunk.Values;
        var sets = chunk.LabelSets;
        long total = 0;
        var w = offset;
        for (var i = 0; i < n; i++)
        {
            var v = values[i];
            if (v == 0)
            {
                continue;
            }

            stacks[w] = stackIds[i];
            vals[w] = v;
            if (hasLabels)
            {
                sets![w] = labelSets![i];
            }

            total += v;
            w++;
        }

        chunk.Used = w;
        var row = new ProfileRow
        {
            Series = seriesId,
            TimeNanos = timeNanos,
            DurationNanos = durationNanos,
            Period = period,
            Total = total,
            SampleCount = nonZero,
            Chunk = chunkIndex,
            Offset = offset,
            HasSampleLabels = hasLabels,
        };

        if (timeNanos < _minTime)
        {
            Volatile.Write(ref _minTime, timeNanos);
        }

        if (timeNanos > _maxTime)
        {
            Volatile.Write(ref _maxTime, timeNanos);
        }

        var rowIndex = _rows.Add(row);
        _series.GetSeries(seriesId).Profiles.Add(rowIndex);
        Volatile.Write(ref _sampleCount, _sampleCount + nonZero);
        return nonZero;
    }

    public override PartitionView View()
    {
        // Rows first: everything a row references (chunks, stack nodes, symbols, label sets) was published before it.
        var (rows, rowCount) = _rows.SnapshotArray();
        var (chunks, chunkCount) = _chunks.SnapshotArray();
        var labels = _sampleLabels.Snapshot();
        var tree = _tree.Snapshot();
        var symbols = _symbols.Snapshot();
        return new HeadView(_series, rows, rowCount, tree, symbols, labels, chunks[..chunkCount]);
    }

    private sealed class HeadView : PartitionView
    {
        private readonly SampleChunk[] _chunks;

        public HeadView(SeriesIndex series, ProfileRow[] rows, int rowCount, StackTreeView tree, SymbolsView symbols, SampleLabelsView labels, SampleChunk[] chunks)
            : base(series, rows, rowCount, tree, symbols, labels) => _chunks = chunks;

        public override void Accumulate(in ProfileRow row, Span<long> nodeValues, long multiplier)
        {
            var c = _chunks[row.Chunk];
            var stacks = c.Stacks.AsSpan((int)row.Offset, row.SampleCount);
            var values = c.Values.AsSpan((int)row.Offset, row.SampleCount);
            if (multiplier == 1)
            {
                for (var i = 0; i < stacks.Length; i++)
                {
                    nodeValues[stacks[i]] += values[i];
                }
            }
            else
            {
                for (var i = 0; i < stacks.Length; i++)
                {
                    nodeValues[stacks[i]] += values[i] * multiplier;
                }
            }
        }

        public override void ReadSamples(in ProfileRow row, Span<int> stacks, Span<long> values, Span<int> labelSets)
        {
            var c = _chunks[row.Chunk];
            c.Stacks.AsSpan((int)row.Offset, row.SampleCount).CopyTo(stacks);
            c.Values.AsSpan((int)row.Offset, row.SampleCount).CopyTo(values);
            if (row.HasSampleLabels)
            {
                c.LabelSets!.AsSpan((int)row.Offset, row.SampleCount).CopyTo(labelSets);
            }
            else
            {
                labelSets[..row.SampleCount].Clear();
            }
        }
    }
}
