using Parca.Storage;
using Parca.Storage.Ingest;

namespace Parca.Ingest;

/// <summary>
/// Gathers the rows of Arrow write records into profiles: one per profile type (name = producer; sample and period
/// type and unit; period; duration, non-zero meaning delta), label set and time bucket. The caller finds a row's
/// group by a key of integers (string ids and values) and only looks it up when the key changes from the previous
/// row, which in agent records (run-end encoded columns) is rare.
/// </summary>
internal sealed class ProfileGroups(SymbolTable symbols, long bucketNanos) : IDisposable
{
    private readonly Dictionary<long[], Group> _groups = new(KeyComparer.Instance);
    private readonly List<Group> _ordered = [];

    public long BucketNanos => bucketNanos;

    public int Count => _ordered.Count;

    public long SampleCount { get; private set; }

    public bool TryFind(long[] key, out Group group) => _groups.TryGetValue(key, out group!);

    /// <param name="origin">Where the group's first row is (e.g. "ipc_buffer: record batch 0 row 5"): named by the
    /// errors of the shared ingest step (<see cref="ProfileCommit"/>).</param>
    public Group Add(long[] key, string name, IngestValueType sampleType, IngestValueType periodType, long period, long duration, LabelSet labels, string origin)
    {
        var g = new Group(name, sampleType, periodType, period, duration, labels, origin);
        _groups.Add((long[])key.Clone(), g);
        _ordered.Add(g);
        return g;
    }

    public void Sampled(int n) => SampleCount += n;

    /// <summary>Where the rows being read now come from (e.g. "ipc_buffer: record batch 2"), for error messages.</summary>
    public string Source { get; set; } = "";

    /// <summary>The symbol tables every group of the request shares.</summary>
    public SymbolTable Symbols => symbols;

    /// <summary>The groups in the order their first rows arrived.</summary>
    public IReadOnlyList<Group> Ordered => _ordered;

    /// <summary>The profiles, in the order their first rows arrived; all share the request's symbol tables.</summary>
    public List<(string Name, LabelSet Labels, IngestProfile Profile)> Build()
    {
        SymbolTable.Tables? tables = null;
        var result = new List<(string, LabelSet, IngestProfile)>(_ordered.Count);
        foreach (var g in _ordered)
        {
            var p = new IngestProfile
            {
                SampleTypes = [g.SampleType],
                PeriodType = g.PeriodType,
                Period = g.Period,
                DurationNanos = g.Duration,
                TimeNanos = g.TimeNanos,
                SampleCount = g.Values.Count,
                StackOffsets = [.. g.Offsets],
                StackLocations = g.Stack.Array, // pooled, read up to the last offset: valid until Dispose
                Values = [[.. g.Values]],
            };
            symbols.Fill(p, ref tables);
            result.Add((g.Name, g.Labels, p));
        }

        return result;
    }

    /// <summary>
    /// Returns the groups' pooled stack buffers once the request's profiles are stored (the symbol table's strings go
    /// with the table's own Dispose); the profiles <see cref="Build"/> made are unusable after.
    /// </summary>
    public void Dispose()
    {
        foreach (var g in _ordered)
        {
            g.Dispose();
        }
    }

    internal sealed class Group(string name, IngestValueType sampleType, IngestValueType periodType, long period, long duration, LabelSet labels, string origin) : IDisposable
    {
        public string Origin { get; } = origin;

        public string Name { get; } = name;
        public IngestValueType SampleType { get; } = sampleType;
        public IngestValueType PeriodType { get; } = periodType;
        public long Period { get; } = period;
        public long Duration { get; } = duration;
        public LabelSet Labels { get; } = labels;

        /// <summary>The earliest row's timestamp: the profile's time.</summary>
        public long TimeNanos { get; set; } = long.MaxValue;

        public List<int> Offsets { get; } = [0];
        public StackBuffer Stack { get; } = new();
        public List<long> Values { get; } = [];

        public void Dispose() => Stack.Dispose();

        /// <summary>Ends the sample whose stack locations were just added to <see cref="Stack"/>.</summary>
        public void EndSample(long value, long timeNanos)
        {
            Offsets.Add(Stack.Count);
            Values.Add(value);
            if (timeNanos < TimeNanos)
            {
                TimeNanos = timeNanos;
            }
        }
    }

    private sealed class KeyComparer : IEqualityComparer<long[]>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals(long[]? x, long[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(long[] key)
        {
            var h = new HashCode();
            h.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(key.AsSpan()));
            return h.ToHashCode();
        }
    }
}
