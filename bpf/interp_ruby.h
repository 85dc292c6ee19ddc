/* Ruby's call chain (docs/agent.md "Ruby stacks"). The sampled thread's execution context is the thread-local
 * ruby_current_ec of libruby (read at fs base + tls_offset; NULL in threads Ruby did not start). Its control frames
 * lie at the top of the thread's VM stack and grow down: ec->cfp is the innermost, cfp + 1 its caller, up to
 * vm_stack + vm_stack_size. A frame that runs Ruby code (neither a C function frame, VM_FRAME_FLAG_CFRAME in ep[0],
 * nor one without a pc) is one interpreted frame:
 *
 *   word 0: PARCA_INTERP_TAG(RUBY) | entry | (instruction + 1) << 32 | iseq_size
 *   word 1: the frame's instruction sequence (rb_iseq_t *)
 *
 * where "instruction" is the pc's index in the iseq's encoded instructions (user space maps it to a line with the
 * iseq's line table) and iseq_size tells a reused iseq address apart. A frame flagged VM_FRAME_FLAG_FINISH is the
 * first one a native call of the VM loop (rb_vm_exec) ran: it is marked entry. The thread's bottom frame is the VM's
 * own and is skipped. One bpf_loop iteration per control frame. Offsets per version are in struct parca_ruby_proc (RubyLayouts.cs). */
#ifndef PARCA_INTERP_RUBY_H
#define PARCA_INTERP_RUBY_H

#define PARCA_RUBY_MAX_CFPS 512
#define PARCA_RUBY_FRAME_FINISH 0x20 /* VM_FRAME_FLAG_FINISH (vm_core.h) */
#define PARCA_RUBY_FRAME_CFRAME 0x80 /* VM_FRAME_FLAG_CFRAME */

/* One control frame: 0 = continue, 1 = stop. */
static long ruby_frame_step(__u64 index, void *ctx)
{
    __u32 zero = 0;
    struct parca_interp_state *st = interp_state();
    struct scratch *scratch = bpf_map_lookup_elem(&parca_scratch, &zero);
    if (!st || !scratch)
        return 1;
    struct parca_ruby_walk *rw = &st->rb_walk;
    struct parca_ruby_proc *rb = &st->rb;
    __u64 cfp = rw->cfp;
    __u32 size = rb->cfp_size;
    if (size > PARCA_INTERP_BUF)
        size = PARCA_INTERP_BUF;
    if (size < 8)
        size = 8;
    /* The bottom frame is the VM's own: th_init's dummy frame, which Init_VM turns into an empty "<main>" iseq on
     * the main thread. It is no code of the program. */
    if (cfp == 0 || cfp + size >= rw->end)
        return 1;
    if (bpf_probe_read_user(st->buf, size, (void *)cfp) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 1;
    }
    rw->cfp = cfp + size;
    __u32 off_pc = rb->cfp_pc, off_iseq = rb->cfp_iseq, off_ep = rb->cfp_ep;
    if (off_pc > PARCA_INTERP_BUF - 8 || off_iseq > PARCA_INTERP_BUF - 8 || off_ep > PARCA_INTERP_BUF - 8)
        return 1;
    __u64 pc = *(__u64 *)&st->buf[off_pc];
    __u64 iseq = *(__u64 *)&st->buf[off_iseq];
    __u64 ep = *(__u64 *)&st->buf[off_ep];
    if (pc == 0 || iseq == 0 || ep == 0)
        return 0; /* a C function's or the VM's own frame */
    __u64 flags = 0, body = 0, encoded = 0;
    __u32 iseq_size = 0;
    if (interp_read_ptr(ep, 0, &flags) != 0 || interp_read_ptr(iseq, rb->iseq_body, &body) != 0 || body == 0
        || interp_read_ptr(body, rb->body_iseq_encoded, &encoded) != 0
        || bpf_probe_read_user(&iseq_size, sizeof(iseq_size), (void *)(body + rb->body_iseq_size)) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 1;
    }
    if (flags & PARCA_RUBY_FRAME_CFRAME)
        return 0;

    __u32 n = st->walk.n;
    if (n + 1 >= PARCA_MAX_STACK_DEPTH) {
        interp_count(st, PARCA_INTERP_STAT_TRUNCATED);
        return 1;
    }
    __u64 instruction = 0; /* 0 = unknown (the pc is outside the iseq: it was being replaced) */
    if (pc >= encoded && (pc - encoded) / 8 < iseq_size && (pc - encoded) / 8 < 0xfffffe)
        instruction = (pc - encoded) / 8 + 1;
    __u64 entry = (flags & PARCA_RUBY_FRAME_FINISH) ? PARCA_INTERP_ENTRY : 0;
    scratch->sample.frames[interp_index(n)] = PARCA_INTERP_TAG(PARCA_INTERP_RUBY) | entry | (instruction << 32) | iseq_size;
    scratch->sample.frames[interp_index(n + 1)] = iseq;
    st->walk.n = n + 2;
    interp_count(st, PARCA_INTERP_STAT_FRAMES);
    return 0;
}

static __always_inline __u32 ruby_append(struct parca_ruby_proc *proc, struct task_struct *task, __u32 user_len)
{
    struct parca_interp_state *st = interp_state();
    if (!st)
        return user_len;
    interp_count(st, PARCA_INTERP_STAT_WALKS);
    st->rb = *proc;
    struct parca_ruby_proc *rb = &st->rb;
    struct parca_ruby_walk *rw = &st->rb_walk;

    __u64 ec = 0, stack = 0, stack_size = 0;
    if (interp_read_ptr(task->thread.fsbase + rb->tls_offset, 0, &ec) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    if (ec == 0) {
        interp_count(st, PARCA_INTERP_STAT_NO_THREAD); /* a thread Ruby did not start (timer thread, C library) */
        return user_len;
    }
    if (interp_read_ptr(ec, rb->ec_vm_stack, &stack) != 0 || interp_read_ptr(ec, rb->ec_vm_stack_size, &stack_size) != 0
        || interp_read_ptr(ec, rb->ec_cfp, &rw->cfp) != 0 || stack == 0 || stack_size > (1ULL << 32)) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    rw->end = stack + stack_size * 8;
    st->walk.n = user_len;
    bpf_loop(PARCA_RUBY_MAX_CFPS, ruby_frame_step, NULL, 0);
    return st->walk.n;
}

#endif
