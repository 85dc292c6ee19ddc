/* Perl's call chain (docs/agent.md "Perl stacks"). The sampled thread's interpreter (my_perl) is the thread-local
 * PL_current_context (perl >= 5.36 built with PERL_THREAD_LOCAL, read at fs base + tls_offset) or, where there is
 * none, PL_curinterp. Perl does not recurse in C per sub call: a call pushes a context on the current stack info's
 * context stack and returns to the same runops loop. So the chain is read from the contexts, innermost first:
 *
 *   - a sub (CXt_SUB, CXt_FORMAT) context is one frame: its CV, and the line of the statement running in it (for
 *     the innermost one PL_curcop, for the others the caller statement the next inner context saved, blk_oldcop);
 *   - an eval context (CXt_EVAL: eval, require) is one frame named "(eval)" with that statement's file;
 *   - loops and blocks are skipped;
 *   - when a stack info's contexts are done (a runops loop entered from C: sort blocks, magic, DESTROY, signal
 *     handlers), its outermost frame is marked entry and the walk goes on in si_prev;
 *   - the main program is the last frame, marked entry.
 *
 * Each frame is two words (interp.h): the tag, whose "instruction" field holds the kind (1 sub: word 1 = CV; 2 eval,
 * 3 main: word 1 = the statement's file name, a char *) and whose low 32 bits hold the line; and word 1.
 * One bpf_loop iteration per context. Offsets per version are in struct parca_perl_proc (PerlLayouts.cs). */
#ifndef PARCA_INTERP_PERL_H
#define PARCA_INTERP_PERL_H

#define PARCA_PERL_MAX_CONTEXTS 256
#define PARCA_PERL_KIND_SUB 1
#define PARCA_PERL_KIND_EVAL 2
#define PARCA_PERL_KIND_MAIN 3
#define PARCA_PERL_CXTYPEMASK 0xf
#define PARCA_PERL_CXT_SUB 9
#define PARCA_PERL_CXT_FORMAT 10
#define PARCA_PERL_CXT_EVAL 11

/* Emits one Perl frame; 0 when the sample is full. */
static __always_inline int perl_emit(struct parca_interp_state *st, struct scratch *scratch, __u64 kind, __u64 entry, __u64 word)
{
    struct parca_interp_walk *w = &st->walk;
    __u32 n = w->n;
    if (n + 1 >= PARCA_MAX_STACK_DEPTH) {
        interp_count(st, PARCA_INTERP_STAT_TRUNCATED);
        return 0;
    }
    __u32 line = 0;
    if (st->pl_walk.cop)
        bpf_probe_read_user(&line, sizeof(line), (void *)(st->pl_walk.cop + st->pl.cop_line));
    scratch->sample.frames[interp_index(n)] = PARCA_INTERP_TAG(PARCA_INTERP_PERL) | entry | (kind << 32) | line;
    scratch->sample.frames[interp_index(n + 1)] = word;
    w->pending_entry = n;
    w->n = n + 2;
    interp_count(st, PARCA_INTERP_STAT_FRAMES);
    return 1;
}

/* The file name pointer of the current statement (0 when unreadable). */
static __always_inline __u64 perl_cop_file(struct parca_interp_state *st)
{
    __u64 file = 0;
    if (st->pl_walk.cop)
        interp_read_ptr(st->pl_walk.cop, st->pl.cop_file, &file);
    return file;
}

/* Moves to the next stack info: 0 = continue, 1 = stop. */
static __always_inline long perl_next_stackinfo(struct parca_interp_state *st, struct scratch *scratch)
{
    struct parca_perl_walk *pw = &st->pl_walk;
    struct parca_perl_proc *pl = &st->pl;
    __u64 prev = 0;
    if (pw->si == 0 || interp_read_ptr(pw->si, pl->si_prev, &prev) != 0)
        prev = 0;
    if (prev == 0) {
        /* The main stack info is done: what is left is the main program. */
        perl_emit(st, scratch, PARCA_PERL_KIND_MAIN, PARCA_INTERP_ENTRY, perl_cop_file(st));
        return 1;
    }
    __u32 tag = st->walk.pending_entry;
    if (tag < PARCA_MAX_STACK_DEPTH)
        scratch->sample.frames[interp_index(tag)] |= PARCA_INTERP_ENTRY;
    st->walk.pending_entry = ~0u;
    __s32 cxix = -1;
    if (interp_read_ptr(prev, pl->si_cxstack, &pw->cxstack) != 0
        || bpf_probe_read_user(&cxix, sizeof(cxix), (void *)(prev + pl->si_cxix)) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 1;
    }
    pw->si = prev;
    pw->cxix = cxix;
    return 0;
}

/* One context: 0 = continue, 1 = stop. */
static long perl_context_step(__u64 index, void *ctx)
{
    __u32 zero = 0;
    struct parca_interp_state *st = interp_state();
    struct scratch *scratch = bpf_map_lookup_elem(&parca_scratch, &zero);
    if (!st || !scratch)
        return 1;
    struct parca_perl_walk *pw = &st->pl_walk;
    struct parca_perl_proc *pl = &st->pl;
    if (pw->cxix < 0)
        return perl_next_stackinfo(st, scratch);

    __u64 cx = pw->cxstack + (__u64)pw->cxix * pl->cx_size;
    pw->cxix -= 1;
    __u32 size = pl->cx_read;
    if (size > PARCA_INTERP_BUF)
        size = PARCA_INTERP_BUF;
    if (size < 8)
        size = 8;
    if (bpf_probe_read_user(st->buf, size, (void *)cx) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 1;
    }
    __u32 off_type = pl->cx_type, off_oldcop = pl->cx_oldcop, off_cv = pl->cx_sub_cv;
    if (off_type > PARCA_INTERP_BUF - 8 || off_oldcop > PARCA_INTERP_BUF - 8 || off_cv > PARCA_INTERP_BUF - 8)
        return 1;
    __u8 type = st->buf[off_type] & PARCA_PERL_CXTYPEMASK;
    __u64 oldcop = *(__u64 *)&st->buf[off_oldcop];
    if (type == PARCA_PERL_CXT_SUB || type == PARCA_PERL_CXT_FORMAT) {
        if (!perl_emit(st, scratch, PARCA_PERL_KIND_SUB, 0, *(__u64 *)&st->buf[off_cv]))
            return 1;
    } else if (type == PARCA_PERL_CXT_EVAL) {
        if (!perl_emit(st, scratch, PARCA_PERL_KIND_EVAL, 0, perl_cop_file(st)))
            return 1;
    } else {
        return 0; /* a loop or block: same frame */
    }
    pw->cop = oldcop; /* the statement that entered this context runs in the frame below */
    return 0;
}

static __always_inline __u32 perl_append(struct parca_perl_proc *proc, struct task_struct *task, __u32 user_len)
{
    struct parca_interp_state *st = interp_state();
    if (!st)
        return user_len;
    interp_count(st, PARCA_INTERP_STAT_WALKS);
    st->pl = *proc;
    struct parca_perl_proc *pl = &st->pl;
    struct parca_perl_walk *pw = &st->pl_walk;

    __u64 my_perl = 0;
    __u64 where = pl->tls_offset != 0 ? task->thread.fsbase + pl->tls_offset : pl->interp;
    if (interp_read_ptr(where, 0, &my_perl) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    if (my_perl == 0) {
        interp_count(st, PARCA_INTERP_STAT_NO_THREAD); /* a thread without a Perl interpreter */
        return user_len;
    }
    __s32 cxix = -1;
    if (interp_read_ptr(my_perl, pl->interp_curcop, &pw->cop) != 0
        || interp_read_ptr(my_perl, pl->interp_curstackinfo, &pw->si) != 0 || pw->si == 0
        || interp_read_ptr(pw->si, pl->si_cxstack, &pw->cxstack) != 0
        || bpf_probe_read_user(&cxix, sizeof(cxix), (void *)(pw->si + pl->si_cxix)) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    pw->cxix = cxix;
    st->walk.n = user_len;
    st->walk.pending_entry = ~0u;
    bpf_loop(PARCA_PERL_MAX_CONTEXTS, perl_context_step, NULL, 0);
    return st->walk.n;
}

#endif
