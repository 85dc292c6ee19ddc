using System.Globalization;
using System.Text;

namespace Parca.Agent;

/// <summary>The agent's counters, exported on /metrics in the Prometheus text format.</summary>
public sealed partial class AgentMetrics
{
    private long _profilesWritten;
    private long _profileWriteErrors;
    private long _windows;

    internal Func<ulong[]>? BpfStats { get; set; }

    internal Func<long>? SamplesReceived { get; set; }

    internal Func<long>? SamplesDroppedByRelabel { get; set; }

    internal Func<long>? ProcessesMissed { get; set; }

    internal Func<int>? ObjectFiles { get; set; }

    internal Func<long>? ObjectFileSymbolBytes { get; set; }

    internal Func<long>? ObjectFileEvictions { get; set; }

    internal Func<int>? KernelSymbolLoads { get; set; }

    internal Func<(long DebugFiles, long Skipped)>? Debuginfo { get; set; }

    internal Unwinding.UnwindTableManager? Unwinder { get; set; }

    internal Func<(long Buffered, long Dropped, long Sent, long Failed)>? Shipping { get; set; }

    internal Interpreters.InterpreterManager? Interpreters { get; set; }

    internal Func<Processes.FileRefusal, long>? FilesRefused { get; set; }

    internal Func<long>? FileLogLinesSuppressed { get; set; }

    internal Func<(long TimedOut, long Failed, int Unfinished, long MetadataTimeouts)>? ProcessJobs { get; set; }

    public long ProfilesWritten => Interlocked.Read(ref _profilesWritten);

    public long Windows => Interlocked.Read(ref _windows);

    internal void ProfileWritten() => Interlocked.Increment(ref _profilesWritten);

    internal void ProfileWriteFailed() => Interlocked.Increment(ref _profileWriteErrors);

    internal void WindowClosed() => Interlocked.Increment(ref _windows);

    /// <summary>The BPF counter of <paramref name="stat"/> summed over CPUs (0 before the sampler started).</summary>
    internal ulong Bpf(Bpf.BpfStat stat) => BpfStats?.Invoke() is { } s ? s[(int)stat] : 0;

    public string Render()
    {
        var sb = new StringBuilder();
        var bpf = BpfStats?.Invoke() ?? new ulong[(int)Parca.Agent.Bpf.BpfStat.Count];
        Counter(sb, "parca_agent_bpf_program_runs_total", "Times the BPF sampler ran (all CPUs).", bpf[(int)Parca.Agent.Bpf.BpfStat.Samples]);
        sb.Append("# HELP parca_agent_bpf_samples_skipped_total Samples the BPF program skipped, by reason.\n# TYPE parca_agent_bpf_samples_skipped_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_bpf_samples_skipped_total{{reason=\"idle\"}} {bpf[(int)Parca.Agent.Bpf.BpfStat.Idle]}\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_bpf_samples_skipped_total{{reason=\"kernel_thread\"}} {bpf[(int)Parca.Agent.Bpf.BpfStat.KernelThread]}\n");
        Counter(sb, "parca_agent_bpf_samples_dropped_total", "Samples lost because the ring buffer was full.", bpf[(int)Parca.Agent.Bpf.BpfStat.RingBufferFull]);
        Counter(sb, "parca_agent_bpf_samples_sent_total", "Samples the BPF program wrote to the ring buffer.", bpf[(int)Parca.Agent.Bpf.BpfStat.Sent]);
        Counter(sb, "parca_agent_bpf_user_stacks_truncated_total", "User stacks cut at 127 frames.", bpf[(int)Parca.Agent.Bpf.BpfStat.UserTruncated]);
        Counter(sb, "parca_agent_bpf_user_stack_read_errors_total", "User stacks that ended at an unreadable frame.", bpf[(int)Parca.Agent.Bpf.BpfStat.UserReadFailed]);
        Counter(sb, "parca_agent_bpf_user_stacks_implausible_total", "User stack walks that stopped at a misaligned frame pointer or a return address outside user space (code without frame pointers).", bpf[(int)Parca.Agent.Bpf.BpfStat.UserImplausible]);
        sb.Append("# HELP parca_agent_unwind_frames_total User frames stepped by the unwinder, by method.\n# TYPE parca_agent_unwind_frames_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_unwind_frames_total{{method=\"table\"}} {bpf[(int)Parca.Agent.Bpf.BpfStat.UnwindTableFrames]}\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_unwind_frames_total{{method=\"frame_pointer\"}} {bpf[(int)Parca.Agent.Bpf.BpfStat.UnwindFramePointerFrames]}\n");
        sb.Append(CultureInfo.InvariantCulture, $"parca_agent_unwind_frames_total{{method=\"signal\"}} {bpf[(int)Parca.Agent.Bpf.BpfStat.UnwindSignalFrames]}\n");
        sb.Append("# HELP parca_agent_unwind_events_total Why table walks took a frame-pointer step or ended, by reason.\n# TYPE parca_agent_unwind_events_total counter\n");
        foreach (var (reason, stat) in new[]
        {
            ("no_process_info", Parca.Agent.Bpf.BpfStat.UnwindNoProcess),
            ("no_table_for_mapping", Parca.Agent.Bpf.BpfStat.UnwindNoTable),
            ("pc_not_covered", Parca.Agent.Bpf.BpfStat.UnwindPcNotCovered),
            ("read_fault", Parca.Agent.Bpf.BpfStat.UnwindReadFault),
            ("depth_limit", Parca.Agent.Bpf.BpfStat.UnwindDepthLimit),
            ("reached_stack_end", Parca.Agent.Bpf.BpfStat.UnwindComplete),
        })
        {
            sb.Append(CultureInfo.InvariantCulture, $"parca_agent_unwind_events_total{{reason=\"{reason}\"}} {bpf[(int)stat]}\n");
        }

        if (Unwinder is { } u)
        {
            Gauge(sb, "parca_agent_unwind_tables_loaded", "Unwind tables (one per distinct executable) in the BPF maps.", u.TablesLoaded);
            Gauge(sb, "parca_agent_unwind_processes", "Processes whose mappings the BPF unwinder holds.", u.Processes);
            Gauge(sb, "parca_agent_unwind_table_rows", "Rows of the BPF unwind table memory in use.", u.RowsUsed);
            Gauge(sb, "parca_agent_unwind_table_rows_capacity", "Rows of the BPF unwind table memory (--dwarf-unwinding-max-rows).", u.RowsCapacity);
            Gauge(sb, "parca_agent_unwind_table_bytes", "Bytes of BPF unwind table memory in use (12 per row).", u.RowsUsed * Parca.Symbols.Cfi.UnwindRow.Size);
            Counter(sb, "parca_agent_unwind_tables_not_loaded_total", "Tables not loaded because the row memory was full (that code is walked with frame pointers).", (ulong)u.TablesNotLoaded);
            Counter(sb, "parca_agent_unwind_tables_unloaded_total", "Tables freed because no live process mapped their file.", (ulong)u.TablesUnloaded);
            Counter(sb, "parca_agent_unwind_tables_built_total", "Tables compiled from .eh_frame/.debug_frame (cache misses).", (ulong)u.TablesBuilt);
            Counter(sb, "parca_agent_unwind_table_parse_failures_total", "Files whose CFI could not be parsed (one log line each).", (ulong)u.ParseFailures);
            Counter(sb, "parca_agent_unwind_table_cache_hits_total", "Tables read from the disk cache.", (ulong)u.Cache.Hits);
        }

        RenderInterpreters(sb);
        Counter(sb, "parca_agent_samples_received_total", "Samples read from the ring buffer.", (ulong)(SamplesReceived?.Invoke() ?? 0));
        Counter(sb, "parca_agent_samples_dropped_by_relabel_total", "Samples whose label set a relabel rule dropped.", (ulong)(SamplesDroppedByRelabel?.Invoke() ?? 0));
        Counter(sb, "parca_agent_processes_missed_total", "Processes that exited before their metadata could be read.", (ulong)(ProcessesMissed?.Invoke() ?? 0));
        Counter(sb, "parca_agent_profiles_written_total", "Profiles built and handed to the stores.", (ulong)ProfilesWritten);
        Counter(sb, "parca_agent_profile_write_errors_total", "Profiles a store failed to write.", (ulong)Interlocked.Read(ref _profileWriteErrors));
        Counter(sb, "parca_agent_windows_total", "Profiling windows closed.", (ulong)Windows);
        Gauge(sb, "parca_agent_object_files", "Object files held in the pool.", ObjectFiles?.Invoke() ?? 0);
        Gauge(sb, "parca_agent_object_file_symbol_bytes", "Bytes of symbol tables kept loaded (bounded to 8 MiB, most recently used files first).", ObjectFileSymbolBytes?.Invoke() ?? 0);
        Counter(sb, "parca_agent_object_file_evictions_total", "Object files evicted from the bounded pool.", (ulong)(ObjectFileEvictions?.Invoke() ?? 0));
        Counter(sb, "parca_agent_kernel_symbol_loads_total", "Times /proc/kallsyms was (re)loaded.", (ulong)(KernelSymbolLoads?.Invoke() ?? 0));
        var debuginfo = Debuginfo?.Invoke() ?? (0, 0);
        Counter(sb, "parca_agent_debuginfo_files_loaded_total", "Symbol tables read from a separate debug file (build id or .gnu_debuglink under --debuginfo-directories).", (ulong)debuginfo.DebugFiles);
        Counter(sb, "parca_agent_debuginfo_skipped_total", "Debug sources skipped as corrupt, truncated or mismatched (.gopclntab, .gnu_debugdata, .gnu_debuglink, debug files); each is logged once naming the file.", (ulong)debuginfo.Skipped);
        RenderProcessFiles(sb);
        var gc = GC.GetGCMemoryInfo();
        Gauge(sb, "parca_agent_managed_heap_bytes", "Managed heap size after the last GC.", gc.HeapSizeBytes);
        Gauge(sb, "parca_agent_managed_committed_bytes", "Memory committed by the GC.", gc.TotalCommittedBytes);
        if (Shipping?.Invoke() is { } s)
        {
            Gauge(sb, "parca_agent_remote_store_buffered_series", "Series waiting to be sent.", s.Buffered);
            Counter(sb, "parca_agent_remote_store_dropped_total", "Series dropped because the send buffer was full (oldest first).", (ulong)s.Dropped);
            Counter(sb, "parca_agent_remote_store_sent_total", "Series sent to the remote store.", (ulong)s.Sent);
            Counter(sb, "parca_agent_remote_store_failures_total", "Failed WriteRaw attempts.", (ulong)s.Failed);
        }

        return sb.ToString();
    }

    private void RenderProcessFiles(StringBuilder sb)
    {
        sb.Append("# HELP parca_agent_process_files_refused_total Files read on behalf of a process (perf maps, ELF files, /proc files) that were refused, by reason.\n# TYPE parca_agent_process_files_refused_total counter\n");
        foreach (var reason in Enum.GetValues<Processes.FileRefusal>())
        {
            if (reason is Processes.FileRefusal.None or Processes.FileRefusal.Missing)
            {
                continue;
            }

            var name = Processes.ProcessFiles.ReasonLabel(reason);
            sb.Append(CultureInfo.InvariantCulture, $"parca_agent_process_files_refused_total{{reason=\"{name}\"}} {FilesRefused?.Invoke(reason) ?? 0}\n");
        }

        Counter(sb, "parca_agent_process_file_log_lines_suppressed_total", "Refusal log lines left out by the rate limit (the refusals are still counted).", (ulong)(FileLogLinesSuppressed?.Invoke() ?? 0));
        var jobs = ProcessJobs?.Invoke() ?? default;
        Counter(sb, "parca_agent_process_jobs_timed_out_total", "Per-process file jobs a window stopped waiting for (that process's frames stayed unsymbolized).", (ulong)jobs.TimedOut);
        Counter(sb, "parca_agent_process_jobs_failed_total", "Per-process file jobs that failed.", (ulong)jobs.Failed);
        Gauge(sb, "parca_agent_process_jobs_unfinished", "Per-process file jobs still running after the last window stopped waiting.", jobs.Unfinished);
        Counter(sb, "parca_agent_process_metadata_timeouts_total", "Processes whose /proc metadata was not read in time for their window.", (ulong)jobs.MetadataTimeouts);
    }

    private static void Counter(StringBuilder sb, string name, string help, ulong value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Gauge(StringBuilder sb, string name, string help, long value) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
}
