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
    PARCA_STAT_COUNT = 8,
};

#endif
