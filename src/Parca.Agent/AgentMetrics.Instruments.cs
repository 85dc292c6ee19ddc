using System.Diagnostics.Metrics;
using Parca.Agent.Bpf;

namespace Parca.Agent;

/// <summary>The instruments: names are the exported Prometheus names (the exporter adds nothing to them).</summary>
public sealed partial class AgentMetrics
{
    private static readonly (string Reason, BpfStat Stat)[] s_unwindEvents =
    [
        ("no_process_info", BpfStat.UnwindNoProcess),
        ("no_table_for_mapping", BpfStat.UnwindNoTable),
        ("pc_not_covered", BpfStat.UnwindPcNotCovered),
        ("read_fault", BpfStat.UnwindReadFault),
        ("depth_limit", BpfStat.UnwindDepthLimit),
        ("reached_stack_end", BpfStat.UnwindComplete),
    ];

    private void CreateInstruments()
    {
        BpfCounter("parca_agent_bpf_program_runs_total", "Times the BPF sampler ran (all CPUs).", BpfStat.Samples);
        Labelled("parca_agent_bpf_samples_skipped_total", "Samples the BPF program skipped, by reason.", "reason", () =>
            [("idle", BpfCount(BpfStat.Idle)), ("kernel_thread", BpfCount(BpfStat.KernelThread))]);
        BpfCounter("parca_agent_bpf_samples_dropped_total", "Samples lost because the ring buffer was full.", BpfStat.RingBufferFull);
        BpfCounter("parca_agent_bpf_samples_sent_total", "Samples the BPF program wrote to the ring buffer.", BpfStat.Sent);
        BpfCounter("parca_agent_bpf_user_stacks_truncated_total", "User stacks cut at 127 frames.", BpfStat.UserTruncated);
        BpfCounter("parca_agent_bpf_user_stack_read_errors_total", "User stacks that ended at an unreadable frame.", BpfStat.UserReadFailed);
        BpfCounter("parca_agent_bpf_user_stacks_implausible_total", "User stack walks that stopped at a misaligned frame pointer or a return address outside user space (code without frame pointers).", BpfStat.UserImplausible);
        Labelled("parca_agent_unwind_frames_total", "User frames stepped by the unwinder, by method.", "method", () =>
            [("table", BpfCount(BpfStat.UnwindTableFrames)), ("frame_pointer", BpfCount(BpfStat.UnwindFramePointerFrames)), ("signal", BpfCount(BpfStat.UnwindSignalFrames))]);
        Labelled("parca_agent_unwind_events_total", "Why table walks took a frame-pointer step or ended, by reason.", "reason", () =>
            [.. s_unwindEvents.Select(e => (e.Reason, BpfCount(e.Stat)))]);

        UnwinderGauge("parca_agent_unwind_tables_loaded", "Unwind tables (one per distinct executable) in the BPF maps.", u => u.TablesLoaded);
        UnwinderGauge("parca_agent_unwind_processes", "Processes whose mappings the BPF unwinder holds.", u => u.Processes);
        UnwinderGauge("parca_agent_unwind_table_rows", "Rows of the BPF unwind table memory in use.", u => u.RowsUsed);
        UnwinderGauge("parca_agent_unwind_table_rows_capacity", "Rows of the BPF unwind table memory (--dwarf-unwinding-max-rows).", u => u.RowsCapacity);
        UnwinderGauge("parca_agent_unwind_table_bytes", "Bytes of BPF unwind table memory in use (12 per row).", u => (long)u.RowsUsed * Parca.Symbols.Cfi.UnwindRow.Size);
        UnwinderCounter("parca_agent_unwind_tables_not_loaded_total", "Tables not loaded because the row memory was full (that code is walked with frame pointers).", u => u.TablesNotLoaded);
        UnwinderCounter("parca_agent_unwind_tables_evicted_total", "Tables evicted (least recently sampled first) to make room for a table of a recently sampled process.", u => u.TablesEvicted);
        UnwinderCounter("parca_agent_unwind_tables_unloaded_total", "Tables freed because no live process mapped their file.", u => u.TablesUnloaded);
        UnwinderCounter("parca_agent_unwind_tables_built_total", "Tables compiled from .eh_frame/.debug_frame (cache misses).", u => u.TablesBuilt);
        UnwinderCounter("parca_agent_unwind_table_parse_failures_total", "Files whose CFI could not be parsed (one log line each).", u => u.ParseFailures);
        UnwinderCounter("parca_agent_unwind_table_cache_hits_total", "Tables read from the disk cache.", u => u.Cache.Hits);

        Counter("parca_agent_samples_received_total", "Samples read from the ring buffer.", () => SamplesReceived?.Invoke() ?? 0);
        Counter("parca_agent_samples_dropped_by_relabel_total", "Samples whose label set a relabel rule dropped.", () => SamplesDroppedByRelabel?.Invoke() ?? 0);
        Counter("parca_agent_processes_missed_total", "Processes that exited before their metadata could be read.", () => ProcessesMissed?.Invoke() ?? 0);
        Counter("parca_agent_profiles_written_total", "Profiles built and handed to the stores.", () => ProfilesWritten);
        Counter("parca_agent_profile_write_errors_total", "Profiles a store failed to write.", () => Interlocked.Read(ref _profileWriteErrors));
        Counter("parca_agent_windows_total", "Profiling windows closed.", () => Windows);
        Gauge("parca_agent_object_files", "Object files open in the pool (held and idle).", () => ObjectFiles?.Invoke() ?? 0);
        Gauge("parca_agent_object_files_held", "Object files kept open because a process the agent knows maps them.", () => ObjectFilesHeld?.Invoke().Held ?? 0);
        Gauge("parca_agent_object_file_symbol_bytes", "Bytes of symbol tables kept loaded (bounded to 8 MiB, most recently used files first).", () => ObjectFileSymbolBytes?.Invoke() ?? 0);
        Counter("parca_agent_object_file_evictions_total", "Object files closed: idle ones beyond --object-file-pool-size, and held ones past the open-file cap.", () => ObjectFileEvictions?.Invoke() ?? 0);
        Counter("parca_agent_object_file_held_evictions_total", "Held object files closed because the open-file cap (half the open-file limit, at most 16384) was reached.", () => ObjectFilesHeld?.Invoke().HeldEvictions ?? 0);
        Counter("parca_agent_process_execs_total", "Processes captured again because they exec'ed (or renamed themselves): new comm, executable and mappings.", () => ProcessExecs?.Invoke() ?? 0);
        Counter("parca_agent_kernel_symbol_loads_total", "Times /proc/kallsyms was (re)loaded.", () => KernelSymbolLoads?.Invoke() ?? 0);
        Counter("parca_agent_debuginfo_files_loaded_total", "Symbol tables read from a separate debug file (build id or .gnu_debuglink under --debuginfo-directories).", () => Debuginfo?.Invoke().DebugFiles ?? 0);
        Counter("parca_agent_debuginfo_skipped_total", "Debug sources skipped as corrupt, truncated or mismatched (.gopclntab, .gnu_debugdata, .gnu_debuglink, debug files); each is logged once naming the file.", () => Debuginfo?.Invoke().Skipped ?? 0);

        Labelled("parca_agent_process_files_refused_total", "Files read on behalf of a process (perf maps, ELF files, /proc files) that were refused, by reason.", "reason", () =>
            [.. Enum.GetValues<Parca.Symbols.IO.FileRefusal>()
                .Where(r => r is not (Parca.Symbols.IO.FileRefusal.None or Parca.Symbols.IO.FileRefusal.Missing))
                .Select(r => (Processes.ProcessFiles.ReasonLabel(r), FilesRefused?.Invoke(r) ?? 0))]);
        Counter("parca_agent_process_file_log_lines_suppressed_total", "Refusal log lines left out by the rate limit (the refusals are still counted).", () => FileLogLinesSuppressed?.Invoke() ?? 0);
        Counter("parca_agent_process_jobs_timed_out_total", "Per-process file jobs a window stopped waiting for (that process's frames stayed unsymbolized).", () => ProcessJobs?.Invoke().TimedOut ?? 0);
        Counter("parca_agent_process_jobs_failed_total", "Per-process file jobs that failed.", () => ProcessJobs?.Invoke().Failed ?? 0);
        Gauge("parca_agent_process_jobs_unfinished", "Per-process file jobs still running after the last window stopped waiting.", () => ProcessJobs?.Invoke().Unfinished ?? 0);
        Counter("parca_agent_process_metadata_timeouts_total", "Processes whose /proc metadata was not read in time for their window.", () => ProcessJobs?.Invoke().MetadataTimeouts ?? 0);
        Gauge("parca_agent_managed_heap_bytes", "Managed heap size after the last GC.", () => GC.GetGCMemoryInfo().HeapSizeBytes);
        Gauge("parca_agent_managed_committed_bytes", "Memory committed by the GC.", () => GC.GetGCMemoryInfo().TotalCommittedBytes);

        // Only with --remote-store-address (no series otherwise, so nothing is rendered).
        _meter.CreateObservableGauge("parca_agent_remote_store_buffered_series", () => Shipping is { } s ? [new Measurement<long>(s().Buffered)] : Array.Empty<Measurement<long>>(), null, "Series waiting to be sent, including the batch being sent.");
        ShippingCounter("parca_agent_remote_store_dropped_total", "Series dropped because the send buffer was full (oldest first) or undeliverable at shutdown.", () => Shipping?.Invoke().Dropped);
        ShippingCounter("parca_agent_remote_store_sent_total", "Series sent to the remote store.", () => Shipping?.Invoke().Sent);
        ShippingCounter("parca_agent_remote_store_failures_total", "Failed write attempts (each is retried).", () => Shipping?.Invoke().Failed);
        ShippingCounter("parca_agent_remote_store_rejected_total", "Series the remote store refused as invalid (dropped; the rest of their batch was sent).", () => ShippingRejected?.Invoke());
        CreateInterpreterInstruments();
        CreateRuntimeInstruments();
    }

    private void Counter(string name, string help, Func<long> value) =>
        _meter.CreateObservableCounter(name, value, null, help);

    private void Gauge(string name, string help, Func<long> value) =>
        _meter.CreateObservableGauge(name, value, null, help);

    private void BpfCounter(string name, string help, BpfStat stat) =>
        _meter.CreateObservableCounter(name, () => BpfCount(stat), null, help);

    private void Labelled(string name, string help, string label, Func<IEnumerable<(string Value, long Count)>> values) =>
        _meter.CreateObservableCounter(name, () => values().Select(v => new Measurement<long>(v.Count, new KeyValuePair<string, object?>(label, v.Value))), null, help);

    private void UnwinderGauge(string name, string help, Func<Unwinding.UnwindTableManager, long> value) =>
        _meter.CreateObservableGauge(name, () => Unwinder is { } u ? [new Measurement<long>(value(u))] : Array.Empty<Measurement<long>>(), null, help);

    private void UnwinderCounter(string name, string help, Func<Unwinding.UnwindTableManager, long> value) =>
        _meter.CreateObservableCounter(name, () => Unwinder is { } u ? [new Measurement<long>(value(u))] : Array.Empty<Measurement<long>>(), null, help);

    private void ShippingCounter(string name, string help, Func<long?> value) =>
        _meter.CreateObservableCounter(name, () => value() is { } v ? [new Measurement<long>(v)] : Array.Empty<Measurement<long>>(), null, help);
}
