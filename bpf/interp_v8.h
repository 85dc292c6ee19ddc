/* V8 (Node.js) JavaScript frames (docs/agent.md "Node.js stacks"). V8 keeps a frame pointer in every JavaScript
 * frame, so the native walk (unwind.h, or the frame-pointer walk) already steps through them; what it cannot know is
 * which function a frame runs. For a process in parca_v8_procs, every native frame whose pc is in V8 code (the
 * embedded builtins, where interpreted frames return, or memory no file backs: baseline and optimized code) has
 * its frame read at the frame pointer the walk recorded for it (scratch->fps): a JavaScript frame holds its context
 * (a tagged pointer, low bit 1) at fp + off_context, where other V8 frames hold a type marker (low bit 0), and its
 * JSFunction at fp + off_function. The frame is appended as an interpreted frame (interp.h): the tag carries the
 * native frame's index (bits 32-39, + 1) for user space to put the JavaScript function in that frame's place, and
 * word 1 the function's SharedFunctionInfo, which user space names (and checks) from the process's heap.
 * Two reads per V8 frame; nothing per native C++ frame. Included by interp.h. */
#ifndef PARCA_INTERP_V8_H
#define PARCA_INTERP_V8_H

/* Per-process V8 layout, written by src/Parca.Agent/Interpreters/InterpreterMaps.V8.cs from the process's own
 * v8dbg_* post-mortem symbols (V8Detector.cs). */
struct parca_v8_proc {
    __u64 code_start;     /* the embedded builtins' code, [code_start, code_end) in the process; 0: unknown (every frame checked) */
    __u64 code_end;
    __s16 off_function;   /* v8dbg_off_fp_function (-16) */
    __s16 off_context;    /* v8dbg_off_fp_context_or_frame_type (-8): must be off_function + 8 */
    __u16 function_shared; /* v8dbg_class_JSFunction__shared__SharedFunctionInfo */
    __u16 reserved;
};

struct v8_walk_ctx {
    struct parca_v8_proc v8;
    struct parca_process *proc; /* the process's file mappings, or NULL (frame-pointer walk) */
    __u32 user_len;             /* native frames */
    __u32 n;                    /* words in sample.frames */
};

/* pid -> its V8 layout. Written when the agent recognises a process, deleted when it exits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct parca_v8_proc);
} parca_v8_procs SEC(".maps");

static long v8_step(__u64 index, void *data)
{
    struct v8_walk_ctx *c = data;
    __u32 zero = 0;
    struct scratch *scratch = bpf_map_lookup_elem(&parca_scratch, &zero);
    struct parca_interp_state *st = bpf_map_lookup_elem(&parca_interp_scratch, &zero);
    if (!scratch || !st || index >= c->user_len || index >= PARCA_MAX_STACK_DEPTH)
        return 1;
    __u64 i = interp_index(index);
    __u64 pc = scratch->sample.frames[i];
    int in_builtins = pc >= c->v8.code_start && pc < c->v8.code_end;
    if (!in_builtins && c->v8.code_start != 0 && c->proc && find_mapping(c->proc, pc))
        return 0; /* file-backed code outside the builtins: C++ */
    __u64 fp = scratch->fps[i];
    if (fp < USER_MIN || fp >= USER_END || (fp & 7) != 0)
        return 0;
    __u64 slots[2]; /* [function, context or marker] */
    if (bpf_probe_read_user(slots, sizeof(slots), (void *)(fp + c->v8.off_function)) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 0;
    }
    if ((slots[1] & 1) == 0 || (slots[0] & 1) == 0)
        return 0; /* a typed frame (stub, exit, entry) or no function */
    __u64 shared = 0;
    if (interp_read_ptr(slots[0] - 1, c->v8.function_shared, &shared) != 0 || (shared & 1) == 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 0;
    }
    __u32 n = c->n;
    if (n + 2 > PARCA_MAX_STACK_DEPTH) {
        interp_count(st, PARCA_INTERP_STAT_TRUNCATED);
        return 1;
    }
    scratch->sample.frames[interp_index(n)] = PARCA_INTERP_TAG(PARCA_INTERP_V8) | PARCA_INTERP_ENTRY | ((index + 1) << 32);
    scratch->sample.frames[interp_index(n + 1)] = shared;
    c->n = n + 2;
    interp_count(st, PARCA_INTERP_STAT_FRAMES);
    return 0;
}

static __always_inline __u64 v8_append(struct parca_v8_proc *v8, __u32 tgid, __u32 user_len)
{
    __u32 zero = 0;
    struct parca_interp_state *st = bpf_map_lookup_elem(&parca_interp_scratch, &zero);
    if (!st)
        return user_len;
    interp_count(st, PARCA_INTERP_STAT_WALKS);
    struct v8_walk_ctx c = { .v8 = *v8, .user_len = user_len, .n = user_len };
    c.proc = bpf_map_lookup_elem(&parca_processes, &tgid);
    bpf_loop(PARCA_MAX_STACK_DEPTH, v8_step, &c, 0);
    return c.n;
}

#endif
