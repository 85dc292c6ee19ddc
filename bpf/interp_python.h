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
    __u32 size = py->frame_size;
    if (size > PARCA_INTERP_BUF)
        size = PARCA_INTERP_BUF;
    if (size < 8)
        size = 8;
    if (bpf_probe_read_user(st->buf, size, (void *)w->frame) != 0) {
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

    __s32 firstlineno = 0;
    bpf_probe_read_user(&firstlineno, sizeof(firstlineno), (void *)(code + py->code_firstlineno));

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
    scratch->sample.frames[interp_index(n)] = PARCA_INTERP_TAG(PARCA_INTERP_PYTHON) | entry | (slot << 32) | (__u32)firstlineno;
    scratch->sample.frames[interp_index(n + 1)] = code;
    w->pending_entry = n;
    w->n = n + 2;
    interp_count(st, PARCA_INTERP_STAT_FRAMES);
    w->frame = previous;
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
    __u64 thread = 0, id = 0;
    __u64 *cached = bpf_map_lookup_elem(&parca_python_threads, &tid);
    if (cached && interp_read_ptr(*cached, py->tstate_thread_id, &id) == 0 && id == w->fsbase) {
        thread = *cached;
    } else {
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

    __u64 frame = 0;
    if (interp_read_ptr(thread, py->tstate_frame, &frame) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    if (py->cframe_current_frame != PARCA_INTERP_NONE && frame != 0
        && interp_read_ptr(frame, py->cframe_current_frame, &frame) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
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
