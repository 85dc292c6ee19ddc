/* CPython's frame chain (docs/agent.md "Python stacks"): the sampled thread's PyThreadState is found in the
 * main interpreter's thread list by its thread_id (pthread_self(), which on x86-64 glibc and musl is the thread's
 * fs base), cached per tid; from it the current frame (3.11/3.12 through the _PyCFrame, 3.13 directly, <= 3.10 the
 * PyFrameObject), then previous/f_back to the outermost frame. One bpf_loop iteration per frame. Which offsets a
 * version has is in struct parca_python_proc (bpf/interp.h); user space fills them per version. */
#ifndef PARCA_INTERP_PYTHON_H
#define PARCA_INTERP_PYTHON_H

static __always_inline struct parca_interp_state *interp_state(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&parca_interp_scratch, &zero);
}

/* One thread state of the list: 0 = continue, 1 = stop (found or end). */
static long python_thread_step(__u64 index, void *ctx)
{
    struct parca_interp_state *st = interp_state();
    if (!st)
        return 1;
    struct parca_python_proc *py = &st->py;
    __u64 thread = st->walk.thread, id = 0;
    if (thread == 0)
        return 1;
    if (interp_read_ptr(thread, py->tstate_thread_id, &id) != 0) {
        st->walk.thread = 0;
        return 1;
    }
    if (id == st->walk.fsbase)
        return 1;
    if (interp_read_ptr(thread, py->tstate_next, &st->walk.thread) != 0)
        st->walk.thread = 0;
    return 0;
}

/* 3.11+ keep the frames of running functions in the thread's data stack: contiguous, each caller just below its
 * callee. One read of PARCA_PY_CHUNK bytes below a frame then holds the next ones too, instead of a read per frame
 * (a 30-frame walk: 2-3 reads, not 30). Generator and coroutine frames live in their own objects: when refills stop
 * paying (two that served no further frame), the rest of the walk reads frames one by one. */
#define PARCA_PY_CHUNK 2048
#define PARCA_PY_WASTED_REFILLS 2

struct parca_python_chunk {
    __u64 base;    /* bytes holds the user memory [base, limit) */
    __u64 limit;
    __u32 hits;    /* frames found in the chunk since its last refill */
    __u32 wasted;  /* refills that served no frame but their own */
    __u8 bytes[PARCA_PY_CHUNK];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct parca_python_chunk);
} parca_python_chunk SEC(".maps");

/* Refills the chunk so that it ends PARCA_INTERP_BUF bytes above frame; 0 on success. A read that would reach
 * below the first mapped page of the data stack is retried from frame's own page. */
static __always_inline int python_refill(struct parca_python_chunk *c, __u64 frame)
{
    __u64 end = frame + PARCA_INTERP_BUF, start = end - PARCA_PY_CHUNK;
    if (frame < PARCA_PY_CHUNK)
        return -1;
    if (bpf_probe_read_user(c->bytes, PARCA_PY_CHUNK, (void *)start) != 0) {
        __u64 page = frame & ~4095ULL;
        if (page > start)
            start = page;
        __u64 len = end - start; /* PARCA_INTERP_BUF .. PARCA_PY_CHUNK */
        if (len > PARCA_PY_CHUNK)
            len = PARCA_PY_CHUNK;
        if (len < PARCA_INTERP_BUF || bpf_probe_read_user(c->bytes, len, (void *)start) != 0)
            return -1;
    }
    if (c->hits == 0 && c->limit != 0)
        c->wasted++;
    c->base = start;
    c->limit = end;
    c->hits = 0;
    return 0;
}

/* The frame's first PARCA_INTERP_BUF bytes (3.11+, from the chunk) or its frame_size bytes into st->buf. */
static __always_inline int python_read_frame(struct parca_interp_state *st, __u64 frame)
{
    struct parca_python_proc *py = &st->py;
    __u32 zero = 0;
    struct parca_python_chunk *c = py->instr_is_pointer ? bpf_map_lookup_elem(&parca_python_chunk, &zero) : NULL;
    if (c && c->wasted < PARCA_PY_WASTED_REFILLS) {
        int hit = frame >= c->base && frame + PARCA_INTERP_BUF <= c->limit;
        if (hit)
            c->hits++;
        if (hit || python_refill(c, frame) == 0) {
            __u64 off = frame - c->base;
            if (off > PARCA_PY_CHUNK - PARCA_INTERP_BUF)
                return -1;
            __builtin_memcpy(st->buf, &c->bytes[off], PARCA_INTERP_BUF);
            return 0;
        }
    }
    __u32 size = py->frame_size;
    if (size > PARCA_INTERP_BUF)
        size = PARCA_INTERP_BUF;
    if (size < 8)
        size = 8;
    return bpf_probe_read_user(st->buf, size, (void *)frame) != 0 ? -1 : 0;
}

/* One frame: 0 = continue, 1 = stop. */
static long python_frame_step(__u64 index, void *ctx)
{
    __u32 zero = 0;
    struct parca_interp_state *st = interp_state();
    struct scratch *scratch = bpf_map_lookup_elem(&parca_scratch, &zero);
    if (!st || !scratch)
        return 1;
    struct parca_python_proc *py = &st->py;
    struct parca_interp_walk *w = &st->walk;
    if (w->frame == 0)
        return 1;
    if (python_read_frame(st, w->frame) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 1;
    }
    __u32 off_code = py->frame_code, off_prev = py->frame_previous, off_instr = py->frame_instr;
    if (off_code > PARCA_INTERP_BUF - 8 || off_prev > PARCA_INTERP_BUF - 8 || off_instr > PARCA_INTERP_BUF - 8)
        return 1;
    __u64 code = *(__u64 *)&st->buf[off_code];
    __u64 previous = *(__u64 *)&st->buf[off_prev];
    __u32 owner_off = py->frame_owner;
    if (owner_off < PARCA_INTERP_BUF && st->buf[owner_off] == py->owner_cstack) {
        /* The interpreter loop's own entry frame (3.12+): the frame emitted last was the first of that call. */
        __u32 tag = w->pending_entry;
        if (tag < PARCA_MAX_STACK_DEPTH)
            scratch->sample.frames[interp_index(tag)] |= PARCA_INTERP_ENTRY;
        w->pending_entry = ~0u;
        w->frame = previous;
        return 0;
    }

    __s64 instr;
    if (py->instr_is_pointer) {
        __u64 at = *(__u64 *)&st->buf[off_instr];
        instr = (__s64)(at - (code + py->code_adaptive)) >> 1; /* _Py_CODEUNIT is 2 bytes */
    } else {
        instr = *(__s32 *)&st->buf[off_instr];
    }
    __u64 entry = 0;
    __u32 entry_off = py->frame_is_entry;
    if (entry_off < PARCA_INTERP_BUF)
        entry = st->buf[entry_off] ? PARCA_INTERP_ENTRY : 0;
    else if (owner_off >= PARCA_INTERP_BUF)
        entry = PARCA_INTERP_ENTRY; /* <= 3.10: every frame object is one call of the loop */

    __u32 n = w->n;
    if (n + 1 >= PARCA_MAX_STACK_DEPTH) {
        interp_count(st, PARCA_INTERP_STAT_TRUNCATED);
        return 1;
    }
    __u64 slot = instr + 1; /* -1 = the frame has not started; clamp to 24 bits */
    if ((__s64)slot < 0)
        slot = 0;
    if (slot > 0xffffff)
        slot = 0xffffff;
    /* No fingerprint: user space checks a cached code object against its address lazily (InterpreterSymbolCache),
     * which saves a read of the code object per frame here. */
    scratch->sample.frames[interp_index(n)] = PARCA_INTERP_TAG(PARCA_INTERP_PYTHON) | entry | (slot << 32);
    scratch->sample.frames[interp_index(n + 1)] = code;
    w->pending_entry = n;
    w->n = n + 2;
    interp_count(st, PARCA_INTERP_STAT_FRAMES);
    w->frame = previous;
    return 0;
}

/* A cached thread state's thread_id and current frame (or _PyCFrame) pointer: one read when both lie within
 * PARCA_INTERP_BUF bytes (3.11-3.13), else the id alone and the frame later. */
static __always_inline int python_read_thread(struct parca_interp_state *st, __u64 thread, __u64 *id, __u64 *frame, int *have_frame)
{
    struct parca_python_proc *py = &st->py;
    __u32 off_id = py->tstate_thread_id, off_frame = py->tstate_frame;
    __u32 lo = off_id < off_frame ? off_id : off_frame;
    __u32 size = (off_id < off_frame ? off_frame : off_id) + 8 - lo;
    if (size > PARCA_INTERP_BUF)
        return interp_read_ptr(thread, off_id, id);
    if (size < 8)
        size = 8;
    if (bpf_probe_read_user(st->buf, size, (void *)(thread + lo)) != 0)
        return -1;
    off_id -= lo;
    off_frame -= lo;
    if (off_id > PARCA_INTERP_BUF - 8 || off_frame > PARCA_INTERP_BUF - 8)
        return -1;
    *id = *(__u64 *)&st->buf[off_id];
    *frame = *(__u64 *)&st->buf[off_frame];
    *have_frame = 1;
    return 0;
}

static __always_inline __u32 python_append(struct parca_python_proc *proc, struct task_struct *task, __u32 tgid, __u32 user_len)
{
    struct parca_interp_state *st = interp_state();
    if (!st)
        return user_len;
    interp_count(st, PARCA_INTERP_STAT_WALKS);
    st->py = *proc;
    struct parca_python_proc *py = &st->py;
    struct parca_interp_walk *w = &st->walk;
    __u32 tid = task->pid;
    w->fsbase = task->thread.fsbase;

    /* The thread state: cached per tid (checked), else searched in the main interpreter's list. */
    __u64 thread = 0, id = 0, frame = 0;
    int have_frame = 0;
    __u64 *cached = bpf_map_lookup_elem(&parca_python_threads, &tid);
    if (cached && python_read_thread(st, *cached, &id, &frame, &have_frame) == 0 && id == w->fsbase) {
        thread = *cached;
    } else {
        have_frame = 0;
        __u64 interp = 0;
        if (interp_read_ptr(py->runtime, py->runtime_interp_head, &interp) != 0 || interp == 0
            || interp_read_ptr(interp, py->interp_threads_head, &w->thread) != 0) {
            interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
            return user_len;
        }
        bpf_loop(PARCA_INTERP_MAX_THREADS, python_thread_step, NULL, 0);
        thread = w->thread;
        if (thread == 0) {
            interp_count(st, PARCA_INTERP_STAT_NO_THREAD);
            return user_len;
        }
        bpf_map_update_elem(&parca_python_threads, &tid, &thread, BPF_ANY);
    }

    if (!have_frame && interp_read_ptr(thread, py->tstate_frame, &frame) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    if (py->cframe_current_frame != PARCA_INTERP_NONE && frame != 0
        && interp_read_ptr(frame, py->cframe_current_frame, &frame) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    __u32 zero = 0;
    struct parca_python_chunk *chunk = bpf_map_lookup_elem(&parca_python_chunk, &zero);
    if (chunk) { /* the last sample's bytes are another process's */
        chunk->base = 0;
        chunk->limit = 0;
        chunk->hits = 0;
        chunk->wasted = 0;
    }
    w->frame = frame;
    w->n = user_len;
    w->pending_entry = ~0u;
    bpf_loop(PARCA_INTERP_MAX_FRAMES, python_frame_step, NULL, 0);
    if (w->frame != 0 && w->n + 1 >= PARCA_MAX_STACK_DEPTH)
        interp_count(st, PARCA_INTERP_STAT_TRUNCATED);
    return w->n;
}

#endif
