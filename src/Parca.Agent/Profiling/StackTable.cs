using System.Runtime.CompilerServices;

namespace Parca.Agent.Profiling;

/// <summary>
/// One window of samples, aggregated by (pid, tid, cpu, kernel stack, user stack) in an open-addressing hash table
/// over struct entries; frames live in one growing ulong arena. No allocation per sample once warmed up.
/// </summary>
internal sealed class StackTable
{
    private int[] _buckets = new int[1024]; // entry index + 1, 0 = empty
    private Entry[] _entries = new Entry[512];
    private ulong[] _frames = new ulong[16 * 1024];
    private int _frameCount;

    public int Count { get; private set; }

    public long TotalSamples { get; private set; }

    public long FirstTimestampNs { get; private set; }

    public long LastTimestampNs { get; private set; }

    public ReadOnlySpan<Entry> Entries => _entries.AsSpan(0, Count);

    public ReadOnlySpan<ulong> KernelFrames(in Entry e) => _frames.AsSpan(e.FrameStart, e.KernelLength);

    public ReadOnlySpan<ulong> UserFrames(in Entry e) => _frames.AsSpan(e.FrameStart + e.KernelLength, e.UserLength);

    /// <summary>Counts one sample.</summary>
    public void Add(int pid, int tid, int cpu, long timestampNs, ReadOnlySpan<ulong> kernel, ReadOnlySpan<ulong> user)
    {
        var h = StackHash.Stack(pid, tid, cpu, kernel, user);
        if (Count == 0)
        {
            FirstTimestampNs = timestampNs;
        }

        LastTimestampNs = timestampNs;
        TotalSamples++;

        var mask = _buckets.Length - 1;
        var slot = (int)h & mask;
        while (true)
        {
            var index = _buckets[slot] - 1;
            if (index < 0)
            {
                break;
            }

            ref var e = ref _entries[index];
            if (e.Hash == h && e.Pid == pid && e.Tid == tid && e.Cpu == cpu && e.KernelLength == kernel.Length && e.UserLength == user.Length
                && KernelFrames(e).SequenceEqual(kernel) && UserFrames(e).SequenceEqual(user))
            {
                e.Count++;
                return;
            }

            slot = (slot + 1) & mask;
        }

        Insert(slot, h, pid, tid, cpu, kernel, user);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Insert(int slot, ulong hash, int pid, int tid, int cpu, ReadOnlySpan<ulong> kernel, ReadOnlySpan<ulong> user)
    {
        var needed = _frameCount + kernel.Length + user.Length;
        if (needed > _frames.Length)
        {
            Array.Resize(ref _frames, Math.Max(needed, _frames.Length * 2));
        }

        kernel.CopyTo(_frames.AsSpan(_frameCount));
        user.CopyTo(_frames.AsSpan(_frameCount + kernel.Length));
        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, _entries.Length * 2);
        }

        _entries[Count] = new Entry
        {
            Hash = hash,
            Pid = pid,
            Tid = tid,
            Cpu = cpu,
            FrameStart = _frameCount,
            KernelLength = (short)kernel.Length,
            UserLength = (short)user.Length,
            Count = 1,
        };
        _frameCount = needed;
        _buckets[slot] = ++Count;
        if (Count * 2 > _buckets.Length)
        {
            Rehash();
        }
    }

    private void Rehash()
    {
        var buckets = new int[_buckets.Length * 2];
        var mask = buckets.Length - 1;
        for (var i = 0; i < Count; i++)
        {
            var slot = (int)_entries[i].Hash & mask;
            while (buckets[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            buckets[slot] = i + 1;
        }

        _buckets = buckets;
    }

    /// <summary>Empties the table, keeping its arrays for the next window.</summary>
    public void Clear()
    {
        Array.Clear(_buckets);
        Count = 0;
        _frameCount = 0;
        TotalSamples = 0;
        FirstTimestampNs = 0;
        LastTimestampNs = 0;
    }

    internal struct Entry
    {
        public ulong Hash;
        public int Pid;
        public int Tid;
        public int Cpu;
        public int FrameStart;
        public short KernelLength;
        public short UserLength;
        public long Count;
    }
}
