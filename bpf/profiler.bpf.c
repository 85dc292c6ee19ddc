// SPDX-License-Identifier: GPL-2.0
/* CPU sampler: one perf_event program run by a cpu-clock event on every CPU. It walks the user stack by frame
 * pointers (walk_user_stack; the .eh_frame unwinder will replace that function), reads the kernel stack with
 * bpf_get_stack, and sends every sample through a ring buffer; aggregation happens in C#.
 * A sample is assembled in a per-CPU scratch slot and only its used bytes are copied out (bpf_ringbuf_output with
 * a variable size), so the cost follows the stack depth, not the 2 KiB maximum record.
 * Idle (pid 0) and kernel threads are skipped and counted, as Parca Agent does.
 *
 * Cost: a sample on a busy CPU finds almost everything this program touches cold (program text, helper code, map
 * memory, ring buffer pages), so its run time is mostly cache and TLB misses, not instructions. That is why it does
 * one map lookup per sample (the counters live in the same per-CPU slot as the sample being built) and reads pid,
 * tid and comm straight from the task (BTF) instead of calling helpers. bench/README.md ("BPF program run time")
 * has the measurements, including the kernel's own stack unwinder behind bpf_get_stack. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "parca_agent.h"

#define PF_KTHREAD 0x00200000
/* The lowest address a frame can be in (mmap_min_addr is 64 KiB on Debian; page 0 never is) and the end of the
 * x86-64 user half: a return address outside [USER_MIN, USER_END) is not one. */
#define USER_MIN 0x10000ULL
#define USER_END 0x0000800000000000ULL
#define HEADER_BYTES __builtin_offsetof(struct parca_sample, frames)
#define PAGE_BYTES 4096ULL
#define CHUNK_WORDS 64
#define CHUNK_BYTES (CHUNK_WORDS * 8ULL)

char LICENSE[] SEC("license") = "GPL";

/* Resized by the agent before load (bpf_map__set_max_entries). */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} parca_samples SEC(".maps");

/* The per-CPU counters (exported on /metrics; the agent reads them from this map), where a sample is built before
 * its used part is copied into the ring buffer, and the stack chunk the walk reads. One slot per CPU: a perf_event
 * program does not nest on one CPU, so plain increments are safe. */
/* The table walk's registers between bpf_loop iterations (unwind.h). */
struct parca_walk_state {
    __u64 ip, sp, bp;
    __u32 n;       /* frames written */
    __u32 pid;
    __u32 exact;   /* ip is an interrupted pc (first frame, after a signal frame), not a return address */
    __u32 mixed;   /* frame-pointer steps allowed where a pc has no table */
    __u64 r13;     /* the interrupted r13: HotSpot's interpreter keeps the running bytecode's pointer there (java.h) */
};

struct scratch {
    __u64 stats[PARCA_STAT_COUNT];
    struct parca_sample sample;
    __u64 chunk[CHUNK_WORDS];
    struct parca_walk_state unwind;
    __u64 fps[PARCA_MAX_STACK_DEPTH + 1]; /* each user frame's frame pointer (rbp at its pc), for the V8 walk (interp_v8.h) */
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} parca_scratch SEC(".maps");

static __always_inline void count(struct scratch *scratch, __u32 stat)
{
    if (stat < PARCA_STAT_COUNT)
        scratch->stats[stat] += 1;
}

#include "unwind.h"
#include "interp.h"

/* Frame-pointer walk: frames[0] is the interrupted user pc, then the return address saved above each rbp.
 * Returns the number of frames (at most PARCA_MAX_STACK_DEPTH); sets flags on truncation, an unreadable frame, or
 * a frame that cannot be one.
 *
 * Cost: every bpf_probe_read_user is a helper call with its own access checks, and it was most of the program's
 * run time (deep .NET stacks walk all 127 frames). Callers' frames are usually close together above the current
 * one, so the walk reads CHUNK_BYTES of stack at a time into a per-CPU buffer and follows the chain inside it,
 * reading again only when the next frame lies outside: a 127-frame walk takes a few reads instead of 127. A chunk
 * that would run past the stack's last mapped page fails as a whole; the walk then reads up to the end of the
 * frame's own page, which is mapped if the frame is.
 *
 * Garbage: code without frame pointers leaves rbp as a general register, so the chain can continue into
 * garbage. The walk ends at the first frame pointer that is not 8-byte aligned or not above the previous one, and
 * at the first return address outside the user half (0, small integers, kernel or non-canonical values).
 *
 * This is the function the .eh_frame unwinder replaces: same inputs (user pc, sp, fp), same output. */
static __always_inline __u32 walk_user_stack(__u64 ip, __u64 sp, __u64 fp, __u64 *frames, __u64 *fps, __u64 *chunk, __u32 *flags)
{
    __u32 n = 0;
    __u64 base = 0, limit = 0; /* chunk holds the user memory [base, limit) */
    fps[n] = fp;
    frames[n++] = ip;
    (void)sp;

    for (int i = 1; i < PARCA_MAX_STACK_DEPTH; i++) {
        if (fp == 0)
            return n;
        if ((fp & 7) != 0 || fp < USER_MIN || fp >= USER_END - CHUNK_BYTES) {
            *flags |= PARCA_SAMPLE_USER_IMPLAUSIBLE;
            return n;
        }
        if (fp < base || fp + 16 > limit) {
            if (bpf_probe_read_user(chunk, CHUNK_BYTES, (void *)fp) == 0) {
                limit = fp + CHUNK_BYTES;
            } else {
                __u64 len = ((fp | (PAGE_BYTES - 1)) + 1) - fp; /* to the end of fp's page: 8 .. 4096 */
                if (len > CHUNK_BYTES)
                    len = CHUNK_BYTES;
                if (len < 16 || bpf_probe_read_user(chunk, len, (void *)fp) != 0) {
                    *flags |= PARCA_SAMPLE_USER_READ_FAILED;
                    return n;
                }
                limit = fp + len;
            }
            base = fp;
        }
        __u64 word = (fp - base) / sizeof(__u64);
        if (word >= CHUNK_WORDS - 1) /* never (fp + 16 <= limit): bounds the index for the verifier */
            return n;
        __u64 next_fp = chunk[word], ret = chunk[word + 1];
        if (ret == 0)
            return n;
        if (ret < USER_MIN || ret >= USER_END) {
            *flags |= PARCA_SAMPLE_USER_IMPLAUSIBLE;
            return n;
        }
        if (n >= PARCA_MAX_STACK_DEPTH)
            break;
        fps[n] = next_fp;
        frames[n++] = ret;
        if (next_fp <= fp) /* stacks grow down: a caller's frame is always above; anything else is garbage */
            return n;
        fp = next_fp;
    }
    *flags |= PARCA_SAMPLE_USER_TRUNCATED;
    return n;
}

SEC("perf_event")
int parca_sample_cpu(struct bpf_perf_event_data *ctx)
{
    __u32 zero = 0;
    struct scratch *scratch = bpf_map_lookup_elem(&parca_scratch, &zero);
    if (!scratch)
        return 0;
    count(scratch, PARCA_STAT_SAMPLES);

    struct task_struct *task = bpf_get_current_task_btf();
    __u32 tgid = task->tgid;
    if (tgid == 0) {
        count(scratch, PARCA_STAT_IDLE);
        return 0;
    }
    if (task->flags & PF_KTHREAD) {
        count(scratch, PARCA_STAT_KTHREAD);
        return 0;
    }

    struct parca_sample *s = &scratch->sample;
    s->timestamp_ns = bpf_ktime_get_ns();
    s->pid = tgid;
    s->tid = task->pid;
    s->cpu = bpf_get_smp_processor_id();
    s->flags = 0;
    /* comm is 16 bytes: two loads from the task instead of a helper call */
    const __u64 *comm = (const __u64 *)task->comm;
    ((__u64 *)s->comm)[0] = comm[0];
    ((__u64 *)s->comm)[1] = comm[1];

    /* When the sample interrupted the kernel (a kernel-half address: top bit set), the user registers are the
     * ones saved at kernel entry. */
    __u64 ip = ctx->regs.ip, sp = ctx->regs.sp, fp = ctx->regs.bp;
    int kernel_mode = (__s64)ip < 0;
    if (kernel_mode) {
        struct pt_regs *user_regs = (struct pt_regs *)bpf_task_pt_regs(task);
        s->flags |= PARCA_SAMPLE_KERNEL_MODE;
        ip = BPF_CORE_READ(user_regs, ip);
        sp = BPF_CORE_READ(user_regs, sp);
        fp = BPF_CORE_READ(user_regs, bp);
        scratch->unwind.r13 = BPF_CORE_READ(user_regs, r13);
    } else {
        scratch->unwind.r13 = ctx->regs.r13;
    }
    __u32 user_len;
    struct parca_config *config = bpf_map_lookup_elem(&parca_config, &zero);
    struct parca_process *proc = config && config->unwind_mode == PARCA_UNWIND_TABLES ? bpf_map_lookup_elem(&parca_processes, &tgid) : NULL;
    if (proc && config) {
        user_len = unwind_user_stack(scratch, proc, tgid, ip, sp, fp, config->mixed);
    } else {
        if (config && config->unwind_mode == PARCA_UNWIND_TABLES)
            count(scratch, PARCA_STAT_UNWIND_NO_PROCESS);
        user_len = walk_user_stack(ip, sp, fp, s->frames, scratch->fps, scratch->chunk, &s->flags);
    }
    __u64 walk_start = 0;
    user_len = interp_append(task, tgid, user_len, &walk_start); /* interpreted frames behind the native ones (interp.h) */
    __u64 walk_end = walk_start ? bpf_ktime_get_ns() : 0;
    if (user_len > PARCA_MAX_STACK_DEPTH) /* never: tells the verifier the kernel frames fit behind */
        user_len = PARCA_MAX_STACK_DEPTH;
    s->user_len = user_len;
    if (s->flags & PARCA_SAMPLE_USER_TRUNCATED)
        count(scratch, PARCA_STAT_USER_TRUNCATED);
    if (s->flags & PARCA_SAMPLE_USER_READ_FAILED)
        count(scratch, PARCA_STAT_USER_READ_FAILED);
    if (s->flags & PARCA_SAMPLE_USER_IMPLAUSIBLE)
        count(scratch, PARCA_STAT_USER_IMPLAUSIBLE);

    /* A sample taken in user mode has no kernel stack: skip the helper (it would find none). */
    long kernel_len = 0;
    if (kernel_mode) {
        long bytes = bpf_get_stack(ctx, &s->frames[user_len], PARCA_MAX_STACK_DEPTH * sizeof(__u64), 0);
        kernel_len = bytes < 0 ? bytes : (long)((__u64)bytes / sizeof(__u64));
    }
    s->kernel_len = (__s32)kernel_len;

    __u64 used = user_len + (kernel_len > 0 ? (__u64)kernel_len : 0);
    if (used > 2 * PARCA_MAX_STACK_DEPTH)
        used = 2 * PARCA_MAX_STACK_DEPTH;
    if (bpf_ringbuf_output(&parca_samples, s, HEADER_BYTES + used * sizeof(__u64), BPF_RB_NO_WAKEUP) != 0) {
        count(scratch, PARCA_STAT_RINGBUF_FULL);
        interp_time(s->timestamp_ns, walk_start, walk_end);
        return 0;
    }
    count(scratch, PARCA_STAT_SENT);
    interp_time(s->timestamp_ns, walk_start, walk_end);
    return 0;
}
