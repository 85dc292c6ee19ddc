/* Structs shared by the BPF program (profiler.bpf.c) and the C# reader (src/Parca.Agent/Bpf/BpfTypes.cs).
 * Keep both sides in sync: test/Parca.Agent.Tests checks the C# layout against the offsets compiled here
 * (the BPF object's BTF). Names carry a parca_ prefix because vmlinux.h already defines e.g. struct sample. */
#ifndef PARCA_AGENT_H
#define PARCA_AGENT_H

#define PARCA_MAX_STACK_DEPTH 127
#define PARCA_TASK_COMM_LEN 16

/* parca_sample.flags */
#define PARCA_SAMPLE_USER_TRUNCATED 0x1   /* the frame-pointer walk hit PARCA_MAX_STACK_DEPTH */
#define PARCA_SAMPLE_USER_READ_FAILED 0x2 /* a frame could not be read (stack ended early) */
#define PARCA_SAMPLE_KERNEL_MODE 0x4      /* the sample interrupted kernel code */
#define PARCA_SAMPLE_USER_IMPLAUSIBLE 0x8 /* the walk stopped at a frame that cannot be one (see walk_user_stack) */
#define PARCA_SAMPLE_USER_COMPLETE 0x10   /* the table walk reached the outermost frame (return address undefined) */
#define PARCA_SAMPLE_USER_TABLES 0x20     /* the user stack was walked with unwind tables (not frame pointers only) */

/* Unwind tables (docs/agent.md "Unwind tables"). One row holds from its pc to the next row's pc; pcs are ELF
 * virtual addresses of the file. The rule values are Parca.Symbols.Cfi.CfaRule / RbpRule. */
#define PARCA_CFA_INVALID 0   /* no rule here: fall back to the frame pointer */
#define PARCA_CFA_RSP 1       /* cfa = rsp + cfa_offset */
#define PARCA_CFA_RBP 2       /* cfa = rbp + cfa_offset */
#define PARCA_CFA_PLT11 3     /* cfa = rsp + 8 + ((rip & 15) >= 11 ? 8 : 0) */
#define PARCA_CFA_PLT10 4     /* the same with threshold 10 */
#define PARCA_CFA_SIGNAL 5    /* __restore_rt: registers from the ucontext at rsp */
#define PARCA_CFA_END 6       /* return address undefined: the outermost frame */
#define PARCA_CFA_RBP_DEREF 7 /* cfa = *(rbp + cfa_offset) (stack realignment) */
#define PARCA_RBP_UNCHANGED 0
#define PARCA_RBP_CFA_OFFSET 1 /* the caller's rbp is saved at cfa + rbp_offset */

#define PARCA_MAX_MAPPINGS 128 /* file mappings per process the unwinder sees (sorted by start) */
#define PARCA_NO_TABLE 0xffffffffu

struct parca_unwind_row {
    __u32 pc;
    __u8 cfa_type;
    __u8 rbp_type;
    __s16 rbp_offset;
    __s32 cfa_offset; /* 32 bits: functions with 32 KiB+ frames (python's, libc's) exist */
};

/* A table's rows are parca_unwind_rows[first_row .. first_row + row_count). */
struct parca_unwind_table {
    __u32 first_row;
    __u32 row_count;
};

/* An executable file mapping of a process: [start, end), the table of its file (or PARCA_NO_TABLE) and the bias
 * that turns a pc into the file's virtual address (vaddr = pc - bias). */
struct parca_mapping {
    __u64 start;
    __u64 end;
    __u64 bias;
    __u32 table_id;
    __u32 reserved;
};

struct parca_process {
    __u32 count;
    __u32 reserved;
    struct parca_mapping mappings[PARCA_MAX_MAPPINGS];
};

/* parca_config[0]: how user stacks are walked. */
#define PARCA_UNWIND_FRAME_POINTERS 0
#define PARCA_UNWIND_TABLES 1
struct parca_config {
    __u32 unwind_mode;
    __u32 mixed; /* table walks take frame-pointer steps where a pc has no table (--dwarf-unwinding-mixed) */
};

/* One sample. It is assembled in a per-CPU scratch slot of this full size and only its used part goes into the ring
 * buffer: the header plus user_len + max(kernel_len, 0) frames, so a record is offsetof(frames) + 8 * frames bytes
 * (a 6-frame user stack: 112 bytes instead of the 2 KiB of a fixed record). User frames come first because their
 * count is known when bpf_get_stack writes the kernel frames right behind them. */
struct parca_sample {
    __u64 timestamp_ns;                       /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
    __u32 pid;                                /* tgid as the host PID namespace sees it */
    __u32 tid;
    __u32 cpu;
    __u32 flags;
    __s32 kernel_len;                         /* kernel frames, or a negative errno from bpf_get_stack (then none) */
    __u32 user_len;                           /* user frames */
    char comm[PARCA_TASK_COMM_LEN];           /* thread comm */
    /* frames[0 .. user_len): user stack, leaf first; frames[user_len .. user_len + kernel_len): kernel, leaf first */
    __u64 frames[2 * PARCA_MAX_STACK_DEPTH];
};

/* Indexes of the per-CPU counters at the start of each `parca_scratch` slot (struct scratch in profiler.bpf.c),
 * exported on /metrics. */
enum parca_stat {
    PARCA_STAT_SAMPLES = 0,        /* program invocations */
    PARCA_STAT_IDLE = 1,           /* pid 0 (idle task): skipped */
    PARCA_STAT_KTHREAD = 2,        /* kernel threads (no mm): skipped */
    PARCA_STAT_RINGBUF_FULL = 3,   /* bpf_ringbuf_output failed (ring buffer full): sample dropped */
    PARCA_STAT_SENT = 4,           /* samples written to the ring buffer */
    PARCA_STAT_USER_TRUNCATED = 5,
    PARCA_STAT_USER_READ_FAILED = 6,
    PARCA_STAT_USER_IMPLAUSIBLE = 7, /* walks stopped at a misaligned frame pointer or a non-user return address */
    PARCA_STAT_UNWIND_NO_PROCESS = 8,     /* table mode, but the process's mappings are not loaded yet: frame pointers */
    PARCA_STAT_UNWIND_NO_TABLE = 9,       /* frames in code without a table (JIT, anonymous, vdso): frame-pointer step */
    PARCA_STAT_UNWIND_PC_NOT_COVERED = 10,/* frames whose pc has no row (gap, unsupported rule): frame-pointer step */
    PARCA_STAT_UNWIND_READ_FAULT = 11,    /* table walks that ended at an unreadable stack word */
    PARCA_STAT_UNWIND_DEPTH_LIMIT = 12,   /* table walks cut at PARCA_MAX_STACK_DEPTH */
    PARCA_STAT_UNWIND_COMPLETE = 13,      /* table walks that reached the outermost frame */
    PARCA_STAT_UNWIND_TABLE_FRAMES = 14,  /* frames stepped with a table row */
    PARCA_STAT_UNWIND_FP_FRAMES = 15,     /* frames stepped with the frame pointer inside a table walk */
    PARCA_STAT_UNWIND_SIGNAL_FRAMES = 16, /* signal frames stepped through */
    PARCA_STAT_COUNT = 17,
};

#endif
