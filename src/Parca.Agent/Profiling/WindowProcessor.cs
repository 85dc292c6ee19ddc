using System.Diagnostics;
using Parca.Agent.Interpreters;
using Parca.Agent.Labels;
using Parca.Agent.Pprof;
using Parca.Agent.Processes;
using Parca.Agent.Shipping.Arrow;

namespace Parca.Agent.Profiling;

/// <summary>
/// Turns one window of aggregated samples into profiles: looks up each process, builds and relabels the label set
/// of every (pid, tid, cpu) group, and writes one pprof per resulting label set with mappings (path, offset, build
/// id), locations (raw addresses) and the function names the agent could resolve; the v2 Arrow frames built beside
/// it carry ELF file addresses instead (see <see cref="V2Address"/>).
/// </summary>
internal sealed partial class WindowProcessor
{
    private const ulong KernelStart = 0xffff_8000_0000_0000UL;

    /// <summary>Symbol tables kept loaded between windows (most recently used files first); see ObjectFileCache.TrimSymbols.</summary>
    private const long SymbolBudgetBytes = 8L << 20;

    /// <summary>Longest a window waits for the process table to look at the PIDs it observed (exec detection).</summary>
    private static readonly TimeSpan s_syncWait = TimeSpan.FromMilliseconds(250);
    private readonly ProcessTable _processes;
    private readonly Symbolizer _symbolizer;
    private readonly LabelSetBuilder _labels;
    private readonly long _periodNanos;

    private readonly ProcessJobs _jobs;

    /// <summary>Turns on .NET processes' perf maps before their JIT frames are named (null: --dotnet-perf-map-disable).</summary>
    public Runtimes.Dotnet.DotnetPerfMapEnabler? Dotnet { get; init; }

    /// <summary>Has JVMs write their perf maps through the attach socket (null: --java-perf-map-disable).</summary>
    public Runtimes.Java.JavaPerfMaps? Java { get; init; }

    /// <summary>Unwind tables for .NET JIT code (null without unwind tables); set once the sampler is up.</summary>
    public Runtimes.Dotnet.JitUnwindTables? JitUnwind { get; set; }

    public WindowProcessor(ProcessTable processes, Symbolizer symbolizer, LabelSetBuilder labels, int frequency, ProcessJobs jobs)
    {
        _processes = processes;
        _symbolizer = symbolizer;
        _labels = labels;
        _periodNanos = 1_000_000_000L / frequency;
        _jobs = jobs;
    }

    /// <summary>Called once per new mapping of a native file with a build id (the debuginfo uploader queues it).</summary>
    public Action<int, ObjectFile>? NativeFileSeen { get; set; }

    /// <summary>Samples a relabel rule dropped, since start.</summary>
    public long DroppedByRelabel { get; private set; }

    /// <summary>Processes whose metadata was not read in time for their window, since start.</summary>
    public long MetadataTimeouts { get; private set; }

    public async Task<List<ProfileSeries>> ProcessAsync(StackTable stacks, Dictionary<int, string> threadNames, DateTimeOffset start, TimeSpan duration)
    {
        _symbolizer.NewWindow();
        Interpreters?.Symbols.NewWindow();
        JavaInterpreter?.NewWindow();
        // Everything that reads a process's files (metadata, maps, ELF symbols, perf map) happens in background
        // tasks; the window waits for them until this deadline and then builds the profiles with what it has.
        var deadline = Stopwatch.GetTimestamp() + (long)(_processes.Files.Limits.WindowWait.TotalSeconds * Stopwatch.Frequency);
        var frames = new Dictionary<int, HashSet<ulong>>();
        for (var i = 0; i < stacks.Count; i++)
        {
            ref readonly var e = ref stacks.Entries[i];
            if (!frames.TryGetValue(e.Pid, out var set))
            {
                set = [];
                frames[e.Pid] = set;
            }

            var user = stacks.UserFrames(e);
            foreach (var address in user[..InterpreterFrames.NativeLength(user)])
            {
                if (Runtimes.Java.HotSpotInterpreter.IsFrameWord(address))
                {
                    continue; // an interpreted Java frame (named by JavaLocation), no address
                }

                set.Add(address);
            }
        }

        try
        {
            // The PIDs observed in this window are looked at first: a process that exec'ed is then captured again.
            // Bounded well below the window's wait: on a loaded machine the worker may lag, and a late exec only
            // costs that window's labels, while waiting would delay every window.
            await _processes.SyncAsync().WaitAsync(s_syncWait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        var pending = new List<(int Pid, Task<ProcessInfo?> Info)>(frames.Count);
        foreach (var pid in frames.Keys)
        {
            pending.Add((pid, _processes.GetAsync(pid)));
        }

        var infos = new Dictionary<int, ProcessInfo?>();
        foreach (var (pid, info) in pending)
        {
            try
            {
                var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
                infos[pid] = await info.WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                infos[pid] = null; // captured in the background; serves the next window
                MetadataTimeouts++;
            }
        }

        var before = new Dictionary<int, ProcessInfo>();
        var work = new Dictionary<int, (string, Action)>();
        foreach (var (pid, addresses) in frames)
        {
            if (infos[pid] is { } info && addresses.Count > 0)
            {
                if (_processes.PreviousImage(pid) is { } previous && SplitPrevious(previous, info, addresses) is { } earlier)
                {
                    // The process exec'ed (or its PID was reused) in this window: frames of the program before are
                    // named with that program's mappings and files (frozen, still held).
                    before[pid] = previous;
                    work[pid] = (info.Comm, () => PrepareBoth(info, addresses, previous, earlier));
                    continue;
                }

                work[pid] = (info.Comm, () => Prepare(info, addresses));
            }
        }

        await _jobs.RunAsync(work, deadline).ConfigureAwait(false);
        _processes.EndWindow(infos.Keys);
        var groupOf = new Dictionary<(int, int, int, bool), Group?>();
        var groups = new Dictionary<string, Group>(StringComparer.Ordinal);
        var locationIds = new List<ulong>(256);
        for (var i = 0; i < stacks.Entries.Length; i++)
        {
            var e = stacks.Entries[i];
            var process = infos[e.Pid];
            var earlierImage = before.TryGetValue(e.Pid, out var previousImage) && IsEarlier(previousImage, process!, stacks.UserFrames(e));
            if (earlierImage)
            {
                process = previousImage;
            }

            if (!groupOf.TryGetValue((e.Pid, e.Tid, e.Cpu, earlierImage), out var group))
            {
                var threadComm = threadNames.GetValueOrDefault(e.Tid, "");
                var discovered = _labels.Discover(process, e.Pid, e.Tid, threadComm, e.Cpu);
                var final = _labels.Finish(discovered);
                if (final is not null)
                {
                    var key = LabelSetBuilder.Format(final);
                    if (!groups.TryGetValue(key, out group))
                    {
                        group = new Group(final, new PprofBuilder(_periodNanos, ProfileSeries.UnixNanos(start), (long)duration.TotalMilliseconds * 1_000_000));
                        groups[key] = group;
                    }

                    if (process is not null)
                    {
                        process.LastLabels = final;
                    }
                }

                groupOf[(e.Pid, e.Tid, e.Cpu, earlierImage)] = group;
            }

            if (group is null)
            {
                DroppedByRelabel += e.Count;
                continue;
            }

            group.Pids.Add(e.Pid);
            locationIds.Clear();
            var kernel = stacks.KernelFrames(e);
            for (var k = 0; k < kernel.Length; k++)
            {
                locationIds.Add(KernelLocation(group, kernel[k], leaf: k == 0));
            }

            AddUserLocations(group, process, e.Pid, stacks.UserFrames(e), kernel.Length == 0, locationIds);

            group.Add(locationIds, e.Count);
        }

        _processes.Objects.TrimSymbols(SymbolBudgetBytes);
        var result = new List<ProfileSeries>(groups.Count);
        foreach (var g in groups.Values)
        {
            g.Flush();
            result.Add(new ProfileSeries(g.Labels, g.Builder.ToGzip(), [.. g.Pids], g.Builder.TotalCount, start, duration, g.Executables)
            {
                Stacks = g.Aggregated(_periodNanos),
            });
        }

        return result;
    }

    /// <summary>
    /// One process's file work for this window, on a background task: /proc/PID/maps is re-read only for a process
    /// with a user frame outside its known executable mappings (dlopen, new JIT code), then the perf map is read when
    /// a frame is in JIT memory and the JIT code's unwind rows published (first: on a loaded machine the ELF symbol
    /// loads below can take seconds, and samples wait for these rows, not for names), then the ELF files with frames
    /// are opened and their symbols loaded.
    /// </summary>
    private void Prepare(ProcessInfo info, HashSet<ulong> addresses)
    {
        if (!info.Exited && !AllMapped(info, addresses))
        {
            _processes.RefreshMappings(info);
        }

        var mappings = info.Mappings;
        var needPerfMap = false;
        foreach (var address in addresses)
        {
            var mapping = MemoryMapping.Find(mappings, address);
            if (mapping is null or { Kind: MappingKind.Jit } || Symbolizer.IsManagedImage(mapping))
            {
                needPerfMap = true;
                break;
            }
        }

        if (_symbolizer.JitEnabled)
        {
            Dotnet?.Prepare(info);
            if (needPerfMap)
            {
                PrepareJit(info, addresses);
            }
        }

        MemoryMapping? last = null;
        foreach (var address in addresses)
        {
            var mapping = MemoryMapping.Find(mappings, address);
            if (mapping is { Kind: MappingKind.File } && !Symbolizer.IsManagedImage(mapping) && !ReferenceEquals(mapping, last))
            {
                last = mapping;
                _ = _processes.Objects.Get(info.Pid, mapping, _processes.Files, info.Holds)?.Symbols;
            }
        }
    }

    private void PrepareBoth(ProcessInfo info, HashSet<ulong> addresses, ProcessInfo previous, HashSet<ulong> earlier)
    {
        Prepare(info, addresses);
        Prepare(previous, earlier);
    }

    /// <summary>
    /// Moves the addresses only <paramref name="previous"/> maps out of <paramref name="addresses"/> and returns them
    /// (null when there are none): a pc in the old program's mappings and outside the new one's was sampled before the exec.
    /// </summary>
    private static HashSet<ulong>? SplitPrevious(ProcessInfo previous, ProcessInfo current, HashSet<ulong> addresses)
    {
        HashSet<ulong>? earlier = null;
        foreach (var address in addresses)
        {
            if (MemoryMapping.Find(current.Mappings, address) is null && MemoryMapping.Find(previous.Mappings, address) is not null)
            {
                (earlier ??= []).Add(address);
            }
        }

        if (earlier is not null)
        {
            addresses.ExceptWith(earlier);
        }

        return earlier;
    }

    /// <summary>A stack taken before the exec: its leaf pc is mapped by the old program and not by the new one.</summary>
    private static bool IsEarlier(ProcessInfo previous, ProcessInfo current, ReadOnlySpan<ulong> user) =>
        user.Length > 0 && MemoryMapping.Find(current.Mappings, user[0]) is null && MemoryMapping.Find(previous.Mappings, user[0]) is not null;

    private static bool AllMapped(ProcessInfo info, HashSet<ulong> user)
    {
        foreach (var address in user)
        {
            if (MemoryMapping.Find(info.Mappings, address) is null)
            {
                return false;
            }
        }

        return true;
    }

    private ulong KernelLocation(Group g, ulong address, bool leaf)
    {
        if (g.Locations.TryGetValue((-1, address), out var id))
        {
            return id;
        }

        if (g.KernelMapping == 0)
        {
            g.KernelMapping = g.Builder.AddMapping(KernelStart, ulong.MaxValue, 0, "[kernel.kallsyms]", null, hasFunctions: true);
            g.Executables.Add(default);
        }

        var name = _symbolizer.KernelFrame(address, leaf);
        var function = name is null ? 0 : g.Builder.Function(name, "[kernel.kallsyms]");
        id = g.Builder.AddLocation(g.KernelMapping, address, function);
        g.Locations[(-1, address)] = id;
        g.Frames.Add(new Frame(address, "kernel", "[kernel.kallsyms]", null, name is null ? [] : [new FrameLine(name, "[kernel.kallsyms]")]));
        return id;
    }

    private ulong UserLocation(Group g, ProcessInfo? process, int pid, ulong address, bool leaf)
    {
        if (g.Locations.TryGetValue((pid, address), out var id))
        {
            return id;
        }

        var mapping = process is null ? null : MemoryMapping.Find(process.Mappings, address);
        ulong mappingId = 0;
        ObjectFile? file = null;
        if (mapping is not null)
        {
            file = mapping.Kind == MappingKind.File ? _processes.Objects.TryGetCached(mapping) : null;
            if (!g.Mappings.TryGetValue((pid, mapping.Start), out mappingId))
            {
                var name = mapping.Kind == MappingKind.Jit && mapping.Path.Length == 0 ? "[anon]" : mapping.Path;
                mappingId = g.Builder.AddMapping(mapping.Start, mapping.End, mapping.Offset, name, file?.BuildId, hasFunctions: true);
                g.Mappings[(pid, mapping.Start)] = mappingId;
                g.Executables.Add(Segment(file));
                if (file is { BuildId: not null } && mapping.Kind == MappingKind.File)
                {
                    NativeFileSeen?.Invoke(pid, file);
                }
            }
        }

        var function = _symbolizer.UserFrame(pid, mapping, file, address, leaf);
        var functionId = function is null ? 0 : g.Builder.Function(function, mapping?.Path ?? "");
        id = g.Builder.AddLocation(mappingId, address, functionId);
        g.Locations[(pid, address)] = id;
        var mappingFile = mapping is null ? null : mapping.Kind == MappingKind.Jit && mapping.Path.Length == 0 ? "[anon]" : mapping.Path;
        var buildId = string.IsNullOrEmpty(file?.BuildId) ? null : file.BuildId;
        g.Frames.Add(new Frame(V2Address(mapping, file, address), "native", mappingFile, buildId,
            function is null ? [] : [new FrameLine(function, string.IsNullOrEmpty(mapping?.Path) ? null : mapping.Path)]));
        return id;
    }

    /// <summary>
    /// The address a v2 Arrow frame carries: v2 has no mapping range, so Parca (and our server) read a native frame's
    /// address as the ELF file's virtual address, as Parca Agent sends it. Frames of files the agent could not read as
    /// ELF (and JIT code) keep the process address: they have no build id, so nothing symbolizes them on the server.
    /// </summary>
    private static ulong V2Address(MemoryMapping? mapping, ObjectFile? file, ulong address) =>
        mapping is { Kind: MappingKind.File } && file?.Elf is { } elf
            ? Parca.Symbols.Elf.FileAddress.FromMapping(elf.ProgramHeaders, address, mapping.Start, mapping.End, mapping.Offset)
            : address;

    private static ExecutableSegment Segment(ObjectFile? file)
    {
        if (file?.Elf is not { } elf)
        {
            return default;
        }

        foreach (var p in elf.ProgramHeaders)
        {
            if (p.Type == 1 && (p.Flags & 1) != 0)
            {
                return new ExecutableSegment(elf.Type, p.Offset, p.VirtualAddress);
            }
        }

        return new ExecutableSegment(elf.Type, 0, 0);
    }

    private sealed class Group(SortedDictionary<string, string> labels, PprofBuilder builder)
    {
        private readonly Dictionary<string, int> _sampleIndex = new(StringComparer.Ordinal);
        private readonly List<(ulong[] Locations, long Count)> _samples = [];

        public SortedDictionary<string, string> Labels { get; } = labels;

        public PprofBuilder Builder { get; } = builder;

        public HashSet<int> Pids { get; } = [];

        public Dictionary<(int Pid, ulong Address), ulong> Locations { get; } = [];

        public Dictionary<(int Pid, ulong Start), ulong> Mappings { get; } = [];

        public ulong KernelMapping { get; set; }

        /// <summary>The pprof mapping of each interpreted language's frames (by InterpreterFrames language).</summary>
        public Dictionary<int, ulong> InterpreterMappings { get; } = [];

        public Dictionary<(int Pid, ulong Code, uint Fingerprint, int Line), ulong> InterpreterLocations { get; } = [];

        /// <summary>Interpreted Java frames' locations by (pid, Method*, line).</summary>
        public Dictionary<(int Pid, ulong Method, int Line), ulong> JavaLocations { get; } = [];

        public List<ExecutableSegment> Executables { get; } = [];

        /// <summary>The Arrow frame of each pprof location (index = location id − 1): built once per location.</summary>
        public List<Frame> Frames { get; } = [];

        /// <summary>The window's samples as frames, for the v2 Arrow writer (no pprof decode per flush).</summary>
        public AggregatedStacks Aggregated(long periodNanos)
        {
            var samples = new List<(Frame[], long)>(_samples.Count);
            foreach (var (locations, count) in _samples)
            {
                var stack = new Frame[locations.Length];
                for (var i = 0; i < stack.Length; i++)
                {
                    stack[i] = Frames[(int)locations[i] - 1];
                }

                samples.Add((stack, count));
            }

            return new AggregatedStacks(periodNanos, samples);
        }

        /// <summary>Merges samples whose location lists are equal (they differed only by thread or CPU).</summary>
        public void Add(List<ulong> locations, long count)
        {
            var key = string.Join(',', locations);
            if (_sampleIndex.TryGetValue(key, out var i))
            {
                _samples[i] = (_samples[i].Locations, _samples[i].Count + count);
                return;
            }

            _sampleIndex[key] = _samples.Count;
            _samples.Add(([.. locations], count));
        }

        public void Flush()
        {
            foreach (var (locations, count) in _samples)
            {
                Builder.AddSample(locations, count);
            }
        }
    }
}
