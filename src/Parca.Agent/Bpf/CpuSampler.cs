using System.Runtime.InteropServices;
using Parca.Agent.Interop;

namespace Parca.Agent.Bpf;

/// <summary>
/// The loaded BPF sampler: the embedded CO-RE object loaded through libbpf, its program attached to one cpu-clock
/// perf event per online CPU, and a ring-buffer consumer that hands every sample to an <see cref="ISampleSink"/>.
/// The BPF side submits with BPF_RB_NO_WAKEUP, so <see cref="Consume"/> is called on a timer rather than epoll.
/// </summary>
internal sealed unsafe class CpuSampler : IDisposable
{
    private const string ProgramName = "parca_sample_cpu";
    private const string SamplesMap = "parca_samples";
    /// <summary>Per-CPU slot whose first <see cref="BpfStat.Count"/> words are the program's counters (struct scratch).</summary>
    private const string ScratchMap = "parca_scratch";

    private readonly SafeBpfObjectHandle _object;
    private readonly List<SafeFdHandle> _perfEvents = [];
    private readonly List<SafeBpfLinkHandle> _links = [];
    private readonly int _scratchFd;
    private readonly int _scratchSlotBytes;
    private readonly int _possibleCpus;
    private SafeRingBufferHandle? _ringBuffer;
    private GCHandle _sinkHandle;

    private CpuSampler(SafeBpfObjectHandle obj, nint scratchMap, int possibleCpus)
    {
        _object = obj;
        _scratchFd = Libbpf.MapFd(scratchMap);
        // A per-CPU lookup returns one value per possible CPU, each rounded up to 8 bytes.
        _scratchSlotBytes = (int)((Libbpf.MapValueSize(scratchMap) + 7) & ~7u);
        _possibleCpus = possibleCpus;
    }

    /// <summary>The CPUs sampled.</summary>
    public IReadOnlyList<int> Cpus { get; private set; } = [];

    /// <summary>Set when the memlock limit could not be raised (harmless on Linux 5.11+, which charges BPF memory to the cgroup).</summary>
    public string? MemlockWarning { get; private set; }

    /// <summary>The unwinder's maps (tables, process mappings, walk mode).</summary>
    public Unwinding.UnwindMaps Unwind { get; private set; } = null!;

    /// <summary>The ring buffer size in bytes.</summary>
    public int RingBufferBytes { get; private set; }

    /// <summary>Loads, attaches and starts sampling; throws <see cref="BpfException"/> with the reason when it cannot.</summary>
    public static CpuSampler Start(CpuSamplerOptions options, ISampleSink sink)
    {
        var memlockProblem = Preflight(options);
        LibbpfLog.Verbose = options.VerboseLogging;
        LibbpfLog.Install();
        LibbpfLog.TakeRecent();

        var cpus = PerfEvent.OnlineCpus();
        var bytes = options.RingBufferBytes > 0 ? options.RingBufferBytes : CpuSamplerOptions.DefaultRingBufferBytes(options.Frequency, cpus.Length);
        var image = ReadEmbeddedObject();
        nint obj;
        fixed (byte* p = image)
        {
            obj = Libbpf.ObjectOpenMem(p, (nuint)image.Length, 0);
        }

        if (obj == 0)
        {
            throw Errno.Exception("opening the BPF object", Marshal.GetLastPInvokeError(), LibbpfLog.TakeRecent());
        }

        var handle = new SafeBpfObjectHandle(obj);
        CpuSampler? sampler = null;
        try
        {
            var samples = RequireMap(obj, SamplesMap);
            var rc = Libbpf.MapSetMaxEntries(samples, (uint)bytes);
            if (rc < 0)
            {
                throw Errno.Exception($"sizing the ring buffer to {bytes} bytes", -rc);
            }

            foreach (var (name, entries) in new[] { ("parca_unwind_rows", Math.Max(options.UnwindMaxRows, 1)), ("parca_unwind_tables", Math.Max(options.UnwindMaxTables, 1)), ("parca_processes", Math.Max(options.UnwindMaxProcesses, 1)) })
            {
                rc = Libbpf.MapSetMaxEntries(RequireMap(obj, name), entries);
                if (rc < 0)
                {
                    throw Errno.Exception($"sizing BPF map {name} to {entries} entries", -rc);
                }
            }

            rc = Libbpf.ObjectLoad(obj);
            if (rc < 0)
            {
                throw Errno.Exception("loading the BPF program (bpf() syscall, BTF relocation and verifier)", -rc,
                    (memlockProblem is null ? "" : memlockProblem + "\n") + LibbpfLog.TakeRecent());
            }

            sampler = new CpuSampler(handle, RequireMap(obj, ScratchMap), Libbpf.NumPossibleCpus())
            {
                RingBufferBytes = bytes,
                MemlockWarning = memlockProblem,
            };
            sampler.Unwind = new Unwinding.UnwindMaps(
                Libbpf.MapFd(RequireMap(obj, "parca_unwind_rows")),
                Libbpf.MapFd(RequireMap(obj, "parca_unwind_tables")),
                Libbpf.MapFd(RequireMap(obj, "parca_processes")),
                Libbpf.MapFd(RequireMap(obj, "parca_config")),
                Math.Max(options.UnwindMaxRows, 1),
                Math.Max(options.UnwindMaxTables, 1),
                Math.Max(options.UnwindMaxProcesses, 1));
            sampler.Unwind.SetMode(options.UnwindTables, options.UnwindMixed);
            sampler._sinkHandle = GCHandle.Alloc(sink);
            var ring = Libbpf.RingBufferNew(Libbpf.MapFd(samples), &OnRecord, GCHandle.ToIntPtr(sampler._sinkHandle), 0);
            if (ring == 0)
            {
                throw Errno.Exception("creating the ring buffer consumer", Marshal.GetLastPInvokeError());
            }

            sampler._ringBuffer = new SafeRingBufferHandle(ring);
            var program = Libbpf.FindProgramByName(obj, ProgramName);
            if (program == 0)
            {
                throw new BpfException($"BPF program {ProgramName} not found in the embedded object");
            }

            foreach (var cpu in cpus)
            {
                var perf = PerfEvent.OpenCpuClock(cpu, options.Frequency);
                sampler._perfEvents.Add(perf);
                var link = Libbpf.ProgramAttachPerfEvent(program, perf.Fd);
                if (link == 0)
                {
                    throw Errno.Exception($"attaching the BPF program to the perf event of cpu {cpu}", Marshal.GetLastPInvokeError());
                }

                sampler._links.Add(new SafeBpfLinkHandle(link));
            }

            sampler.Cpus = cpus;
            return sampler;
        }
        catch
        {
            if (sampler is not null)
            {
                sampler.Dispose();
            }
            else
            {
                handle.Dispose();
            }

            throw;
        }
    }

    /// <summary>The file descriptor of the loaded object's map <paramref name="name"/> (for subsystems that own their maps, e.g. interpreters).</summary>
    public int MapFd(string name) => Libbpf.MapFd(RequireMap(_object.DangerousGetHandle(), name));

    /// <summary>Possible CPUs: a per-CPU map lookup returns one value per possible CPU.</summary>
    public int PossibleCpus => Math.Max(_possibleCpus, 1);

    /// <summary>Reads every sample waiting in the ring buffer; returns how many were handed to the sink.</summary>
    public int Consume()
    {
        var ring = _ringBuffer ?? throw new ObjectDisposedException(nameof(CpuSampler));
        var n = Libbpf.RingBufferConsume(ring.DangerousGetHandle());
        return n < 0 ? 0 : n;
    }

    /// <summary>The BPF counters summed over CPUs, indexed by <see cref="BpfStat"/>.</summary>
    public ulong[] ReadStats()
    {
        var totals = new ulong[(int)BpfStat.Count];
        var cpus = Math.Max(_possibleCpus, 1);
        var slots = new byte[cpus * _scratchSlotBytes];
        fixed (byte* values = slots)
        {
            uint key = 0;
            if (Libbpf.MapLookupElem(_scratchFd, &key, values) != 0)
            {
                return totals;
            }

            for (var cpu = 0; cpu < cpus; cpu++)
            {
                var counters = (ulong*)(values + (cpu * _scratchSlotBytes));
                for (var stat = 0; stat < totals.Length; stat++)
                {
                    totals[stat] += counters[stat];
                }
            }
        }

        return totals;
    }

    public void Dispose()
    {
        foreach (var link in _links)
        {
            link.Dispose();
        }

        _links.Clear();
        foreach (var perf in _perfEvents)
        {
            perf.Dispose();
        }

        _perfEvents.Clear();
        _ringBuffer?.Dispose();
        _ringBuffer = null;
        _object.Dispose();
        if (_sinkHandle.IsAllocated)
        {
            _sinkHandle.Free();
        }
    }

    internal static byte[] ReadEmbeddedObject()
    {
        using var stream = typeof(CpuSampler).Assembly.GetManifestResourceStream("profiler.bpf.o")
            ?? throw new BpfException("the BPF object is not embedded in the agent assembly (build problem)");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Checks BTF and the bpf() syscall; returns a note when the memlock limit could not be raised.</summary>
    private static string? Preflight(CpuSamplerOptions options)
    {
        if (!File.Exists(options.BtfPath))
        {
            throw new BpfException($"kernel BTF not found at {options.BtfPath}: parca-agent needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (Linux 5.3+ with BTF)", Errno.ENOENT);
        }

        string? memlock = null;
        if (options.MemlockLimit is { } limit)
        {
            var value = limit == 0 ? Libc.RlimInfinity : limit;
            var rl = new Libc.RLimit { Current = value, Max = value };
            if (Libc.SetRlimit(Libc.RlimitMemlock, rl) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                Libc.GetRlimit(Libc.RlimitMemlock, out var current);
                memlock = $"could not raise the memlock limit (RLIMIT_MEMLOCK) to {(limit == 0 ? "unlimited" : limit.ToString(System.Globalization.CultureInfo.InvariantCulture))}: {Errno.Name(errno)} (needs CAP_SYS_RESOURCE); it stays at {current.Current} bytes";
            }
        }

        if (Libc.Syscall(Libc.SysBpf, -1, 0, 0, 0, 0) < 0)
        {
            // bpf(-1) is an invalid command: EINVAL proves the syscall exists; ENOSYS or EPERM say why BPF cannot work.
            var errno = Marshal.GetLastPInvokeError();
            if (errno is Errno.ENOSYS or Errno.EPERM)
            {
                throw Errno.Exception("probing the bpf() syscall", errno);
            }
        }

        return memlock;
    }

    private static nint RequireMap(nint obj, string name)
    {
        var map = Libbpf.FindMapByName(obj, name);
        return map != 0 ? map : throw new BpfException($"BPF map {name} not found in the embedded object");
    }

    [UnmanagedCallersOnly]
    private static int OnRecord(nint context, void* data, nuint size)
    {
        // Records are variable-size (header + used frames): check the lengths against the record before reading frames.
        ref var sample = ref *(BpfSample*)data;
        if (size < BpfSample.HeaderBytes || (nuint)sample.RecordBytes > size)
        {
            return 0;
        }

        var sink = (ISampleSink)GCHandle.FromIntPtr(context).Target!;
        try
        {
            sink.OnSample(ref sample);
        }
#pragma warning disable CA1031 // an exception must not unwind through libbpf's native frames
        catch (Exception)
#pragma warning restore CA1031
        {
            return 0;
        }

        return 0;
    }
}
