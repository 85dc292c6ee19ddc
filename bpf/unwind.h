/* The table unwinder (docs/agent.md "Unwinding"): user stacks of code without frame pointers, walked with the
 * per-file unwind tables the agent compiles from .eh_frame and loads into parca_unwind_rows. Per frame it finds the
 * process's mapping of the pc (binary search in parca_processes[pid]), the mapping's table, the row for the pc
 * (binary search), then computes the CFA, the return address at CFA - 8 and the caller's rbp. Code without a table
 * or a pc without a row (JIT, anonymous memory, gaps, unsupported rules) takes one frame-pointer step instead, so
 * the walk switches between tables and frame pointers in both directions. One bpf_loop iteration is one frame: the
 * verifier checks the step once instead of 127 unrolled copies. Included by profiler.bpf.c (needs struct scratch). */
#ifndef PARCA_UNWIND_H
#define PARCA_UNWIND_H

#define MAPPING_SEARCH_STEPS 8 /* 2^8 > PARCA_MAX_MAPPINGS */
#define ROW_SEARCH_STEPS 24    /* tables of up to 16 M rows */
/* struct ucontext_t at the rt_sigframe (rsp at __restore_rt): uc_flags, uc_link, uc_stack (24 bytes), then
 * uc_mcontext's r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip. */
#define UCONTEXT_RBP 120
#define UCONTEXT_RSP 160
#define UCONTEXT_RIP 168

#include "java.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct parca_config);
} parca_config SEC(".maps");

/* pid -> its executable file mappings. Written by the agent when it first sees a process, deleted when it exits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096); /* resized by the agent */
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, __u32);
    __type(value, struct parca_process);
} parca_processes SEC(".maps");

/* table id -> its slice of parca_unwind_rows */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4096); /* resized by the agent */
    __type(key, __u32);
    __type(value, struct parca_unwind_table);
} parca_unwind_tables SEC(".maps");

/* Every loaded table's rows, one array (--dwarf-unwinding-max-rows); the agent allocates slices of it. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1); /* resized by the agent */
    __type(key, __u32);
    __type(value, struct parca_unwind_row);
} parca_unwind_rows SEC(".maps");

/* The row found last for (table, pc), per CPU. A process's samples return through the same call sites again and
 * again (an interpreter's outer frames, a server's request loop), and each binary search over a large table (python3.11:
 * 65 000 rows, 16 steps) touches a cache line per step, cold on a busy CPU. A slot is only a hint: the row it names is
 * used when it is still the last row of the table's current slice with pc <= the looked-up pc, which is exactly what
 * the search would return, so a table replaced or moved since never gives a wrong row. */
#define ROW_CACHE_SLOTS 256
struct parca_row_hint {
    __u32 table_id;
    __u32 pc;
    __u32 row;
    __u32 reserved;
};

struct parca_row_hints {
    struct parca_row_hint slots[ROW_CACHE_SLOTS];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct parca_row_hints);
} parca_row_hints SEC(".maps");

/* rows[index] is the last row of [lo, hi) whose pc is <= pc. */
static __always_inline struct parca_unwind_row *checked_row(__u32 index, __u32 lo, __u32 hi, __u32 pc)
{
    if (index < lo || index >= hi)
        return NULL;
    struct parca_unwind_row *row = bpf_map_lookup_elem(&parca_unwind_rows, &index);
    if (!row || row->pc > pc)
        return NULL;
    __u32 next_index = index + 1;
    if (next_index < hi) {
        struct parca_unwind_row *next = bpf_map_lookup_elem(&parca_unwind_rows, &next_index);
        if (!next || next->pc <= pc)
            return NULL;
    }
    return row;
}

static __always_inline struct parca_unwind_row *find_row(__u32 table_id, __u64 vaddr)
{
    struct parca_unwind_table *table = bpf_map_lookup_elem(&parca_unwind_tables, &table_id);
    if (!table || table->row_count == 0 || vaddr > 0xffffffffULL)
        return NULL;
    __u32 lo = table->first_row, hi = table->first_row + table->row_count, best = 0xffffffffu;
    __u32 zero = 0;
    struct parca_row_hints *hints = bpf_map_lookup_elem(&parca_row_hints, &zero);
    struct parca_row_hint *hint = NULL;
    if (hints) {
        hint = &hints->slots[(((__u32)vaddr ^ (table_id << 20)) * 2654435761u) >> 24];
        if (hint->table_id == table_id && hint->pc == (__u32)vaddr) {
            struct parca_unwind_row *row = checked_row(hint->row, lo, hi, (__u32)vaddr);
            if (row)
                return row;
        }
    }
    for (int i = 0; i < ROW_SEARCH_STEPS; i++) {
        if (lo >= hi)
            break;
        __u32 mid = lo + (hi - lo) / 2;
        struct parca_unwind_row *row = bpf_map_lookup_elem(&parca_unwind_rows, &mid);
        if (!row)
            return NULL;
        if (row->pc <= (__u32)vaddr) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (best == 0xffffffffu)
        return NULL;
    if (hint) {
        hint->table_id = table_id;
        hint->pc = (__u32)vaddr;
        hint->row = best;
    }
    return bpf_map_lookup_elem(&parca_unwind_rows, &best);
}

static __always_inline struct parca_mapping *find_mapping(struct parca_process *proc, __u64 pc)
{
    __u32 lo = 0, hi = proc->count;
    if (hi > PARCA_MAX_MAPPINGS)
        hi = PARCA_MAX_MAPPINGS;
    for (int i = 0; i < MAPPING_SEARCH_STEPS; i++) {
        if (lo >= hi)
            break;
        __u32 mid = (lo + hi) / 2;
        if (mid >= PARCA_MAX_MAPPINGS)
            break;
        struct parca_mapping *m = &proc->mappings[mid];
        if (pc < m->start)
            hi = mid;
        else if (pc >= m->end)
            lo = mid + 1;
        else
            return m;
    }
    return NULL;
}

static __always_inline int read_word(__u64 address, __u64 *value)
{
    return bpf_probe_read_user(value, sizeof(*value), (void *)address);
}

/* What stays the same for every frame of one walk, on the caller's stack (bpf_loop's callback context): the
 * process's mappings were looked up once per frame before, a hash lookup of the pid each time. */
struct unwind_ctx {
    struct parca_process *proc;
    struct parca_java_proc *java; /* the process's JVM interpreter (java.h), or NULL */
};

/* One frame: returns 0 to continue, 1 to stop (bpf_loop's convention). */
static long unwind_step(__u64 index, void *ctx)
{
    __u32 zero = 0;
    struct scratch *scratch = bpf_map_lookup_elem(&parca_scratch, &zero);
    struct parca_process *proc = ((struct unwind_ctx *)ctx)->proc;
    if (!scratch || !proc)
        return 1;
    struct parca_walk_state *st = &scratch->unwind;
    struct parca_sample *s = &scratch->sample;
    __u32 n = st->n;
    if (n >= PARCA_MAX_STACK_DEPTH) {
        s->flags |= PARCA_SAMPLE_USER_TRUNCATED;
        count(scratch, PARCA_STAT_UNWIND_DEPTH_LIMIT);
        return 1;
    }
    /* A return address points behind the call: look up the call itself (it may be a function's last instruction). */
    __u64 pc = st->exact ? st->ip : st->ip - 1;
    struct parca_mapping *m = find_mapping(proc, pc);
    struct parca_unwind_row *row = NULL;
    if (m && m->table_id != PARCA_NO_TABLE) {
        row = find_row(m->table_id, pc - m->bias);
        if (!row || row->cfa_type == PARCA_CFA_INVALID) {
            count(scratch, PARCA_STAT_UNWIND_PC_NOT_COVERED);
            row = NULL;
        }
    } else {
        count(scratch, PARCA_STAT_UNWIND_NO_TABLE);
    }

    __u64 ra = 0, cfa = 0, bp = st->bp;
    if (row) {
        switch (row->cfa_type) {
        case PARCA_CFA_END:
            s->flags |= PARCA_SAMPLE_USER_COMPLETE;
            count(scratch, PARCA_STAT_UNWIND_COMPLETE);
            return 1;
        case PARCA_CFA_SIGNAL: {
            __u64 regs[7]; /* rbp .. rip of uc_mcontext */
            if (bpf_probe_read_user(regs, sizeof(regs), (void *)(st->sp + UCONTEXT_RBP)) != 0) {
                s->flags |= PARCA_SAMPLE_USER_READ_FAILED;
                count(scratch, PARCA_STAT_UNWIND_READ_FAULT);
                return 1;
            }
            count(scratch, PARCA_STAT_UNWIND_SIGNAL_FRAMES);
            st->bp = regs[0];
            st->sp = regs[(UCONTEXT_RSP - UCONTEXT_RBP) / 8];
            ra = regs[(UCONTEXT_RIP - UCONTEXT_RBP) / 8];
            if (ra < USER_MIN || ra >= USER_END) {
                s->flags |= PARCA_SAMPLE_USER_IMPLAUSIBLE;
                return 1;
            }
            s->frames[n] = ra;
            scratch->fps[n & 0x7f] = st->bp;
            st->n = n + 1;
            st->ip = ra;
            st->exact = 1; /* the interrupted pc itself */
            return 0;
        }
        case PARCA_CFA_RSP:
            cfa = st->sp + row->cfa_offset;
            break;
        case PARCA_CFA_RBP:
            cfa = st->bp + row->cfa_offset;
            break;
        case PARCA_CFA_PLT11:
        case PARCA_CFA_PLT10:
            cfa = st->sp + 8 + ((st->ip & 15) >= (row->cfa_type == PARCA_CFA_PLT11 ? 11 : 10) ? 8 : 0);
            break;
        case PARCA_CFA_RBP_DEREF:
            if (read_word(st->bp + row->cfa_offset, &cfa) != 0) {
                s->flags |= PARCA_SAMPLE_USER_READ_FAILED;
                count(scratch, PARCA_STAT_UNWIND_READ_FAULT);
                return 1;
            }
            break;
        default:
            return 1;
        }
        if (cfa <= st->sp || read_word(cfa - 8, &ra) != 0) {
            s->flags |= cfa <= st->sp ? PARCA_SAMPLE_USER_IMPLAUSIBLE : PARCA_SAMPLE_USER_READ_FAILED;
            if (cfa > st->sp)
                count(scratch, PARCA_STAT_UNWIND_READ_FAULT);
            return 1;
        }
        if (row->rbp_type == PARCA_RBP_CFA_OFFSET && read_word(cfa + row->rbp_offset, &bp) != 0) {
            s->flags |= PARCA_SAMPLE_USER_READ_FAILED;
            count(scratch, PARCA_STAT_UNWIND_READ_FAULT);
            return 1;
        }
        count(scratch, PARCA_STAT_UNWIND_TABLE_FRAMES);
    } else {
        if (!st->mixed)
            return 1;
        /* Frame-pointer step: [rbp] = caller's rbp, [rbp + 8] = return address. rbp 0 ends the stack (System V). */
        __u64 pair[2];
        if (bp == 0)
            return 1;
        if ((bp & 7) != 0 || bp < USER_MIN || bp >= USER_END || bp < st->sp) {
            s->flags |= PARCA_SAMPLE_USER_IMPLAUSIBLE;
            return 1;
        }
        if (bpf_probe_read_user(pair, sizeof(pair), (void *)bp) != 0) {
            s->flags |= PARCA_SAMPLE_USER_READ_FAILED;
            count(scratch, PARCA_STAT_UNWIND_READ_FAULT);
            return 1;
        }
        count(scratch, PARCA_STAT_UNWIND_FP_FRAMES);
        /* An interpreted Java frame: its word names the method instead of the interpreter's pc (java.h). */
        __u64 java_word = java_frame_word(((struct unwind_ctx *)ctx)->java, pc, bp, n == 1 ? st->r13 : 0);
        if (java_word && n > 0 && n <= PARCA_MAX_STACK_DEPTH)
            s->frames[n - 1] = java_word;
        cfa = bp + 16;
        bp = pair[0];
        ra = pair[1];
    }

    if (ra == 0)
        return 1;
    if (ra < USER_MIN || ra >= USER_END) {
        s->flags |= PARCA_SAMPLE_USER_IMPLAUSIBLE;
        return 1;
    }
    s->frames[n] = ra;
    scratch->fps[n & 0x7f] = bp; /* the caller's rbp: its frame pointer when it keeps one (V8, interp_v8.h) */
    st->n = n + 1;
    st->ip = ra;
    st->sp = cfa;
    st->bp = bp;
    st->exact = 0;
    return 0;
}

/* Walks the user stack of a process whose mappings are loaded; returns the number of frames in sample.frames. */
static __always_inline __u32 unwind_user_stack(struct scratch *scratch, struct parca_process *proc, __u32 pid, __u64 ip, __u64 sp, __u64 bp, __u32 mixed)
{
    struct unwind_ctx ctx = { .proc = proc, .java = bpf_map_lookup_elem(&parca_java_procs, &pid) };
    scratch->unwind.mixed = mixed;
    struct parca_walk_state *st = &scratch->unwind;
    scratch->sample.frames[0] = ip;
    scratch->fps[0] = bp;
    scratch->sample.flags |= PARCA_SAMPLE_USER_TABLES;
    st->ip = ip;
    st->sp = sp;
    st->bp = bp;
    st->n = 1;
    st->pid = pid;
    st->exact = 1;
    bpf_loop(PARCA_MAX_STACK_DEPTH, unwind_step, &ctx, 0);
    __u32 n = st->n;
    return n > PARCA_MAX_STACK_DEPTH ? PARCA_MAX_STACK_DEPTH : n;
}

#endif
