/* PHP's call chain (docs/agent.md "PHP stacks"). Non-ZTS PHP (the CLI as distributions build it) keeps the running
 * frame in the global executor_globals.current_execute_data; each zend_execute_data links to its caller through
 * prev_execute_data. A user function's frame (zend_function.type == ZEND_USER_FUNCTION, including the main script)
 * is one interpreted frame; internal (C) functions' frames are skipped, their native frames stay in the stack:
 *
 *   word 0: PARCA_INTERP_TAG(PHP) | entry | 1 << 32 | line (the running opline's lineno)
 *   word 1: the frame's zend_function *
 *
 * A frame flagged ZEND_CALL_TOP in its call info was started by a native call of the VM (execute_ex, from
 * zend_execute or zend_call_function): it is marked entry. One bpf_loop iteration per frame. Offsets per version
 * are in struct parca_php_proc (PhpLayouts.cs).
 *
 * Thread-safe (ZTS) builds have no global executor_globals: each thread's globals live in its TSRM block, whose
 * address the thread keeps in the thread-local _tsrm_ls_cache (fs base + tls_offset), and executor globals sit at
 * executor_globals_offset (a global size_t fixed at start-up) inside that block. So a ZTS sample costs two more
 * reads before the same walk; a thread PHP never ran in has a NULL _tsrm_ls_cache. */
#ifndef PARCA_INTERP_PHP_H
#define PARCA_INTERP_PHP_H

#define PARCA_PHP_MAX_FRAMES 256
#define PARCA_PHP_USER_FUNCTION 2   /* ZEND_USER_FUNCTION (zend_compile.h) */
#define PARCA_PHP_CALL_TOP 0x20000  /* ZEND_CALL_TOP (zend_compile.h) */

/* One execute_data: 0 = continue, 1 = stop. */
static long php_frame_step(__u64 index, void *ctx)
{
    __u32 zero = 0;
    struct parca_interp_state *st = interp_state();
    struct scratch *scratch = bpf_map_lookup_elem(&parca_scratch, &zero);
    if (!st || !scratch)
        return 1;
    struct parca_php_proc *php = &st->php;
    __u64 ex = st->php_walk.ex;
    if (ex == 0)
        return 1;
    __u32 off_opline = php->ex_opline, off_func = php->ex_func, off_info = php->ex_call_info, off_prev = php->ex_prev;
    if (off_opline > PARCA_INTERP_BUF - 8 || off_func > PARCA_INTERP_BUF - 8 || off_info > PARCA_INTERP_BUF - 8 || off_prev > PARCA_INTERP_BUF - 8)
        return 1;
    __u32 size = off_prev + 8;
    if (size < off_func + 8)
        size = off_func + 8;
    if (size < off_info + 8)
        size = off_info + 8;
    if (size > PARCA_INTERP_BUF)
        size = PARCA_INTERP_BUF;
    if (bpf_probe_read_user(st->buf, size, (void *)ex) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 1;
    }
    __u64 opline = *(__u64 *)&st->buf[off_opline];
    __u64 func = *(__u64 *)&st->buf[off_func];
    __u32 info = *(__u32 *)&st->buf[off_info];
    st->php_walk.ex = *(__u64 *)&st->buf[off_prev];
    if (func == 0)
        return 0;
    __u8 type = 0;
    if (bpf_probe_read_user(&type, sizeof(type), (void *)(func + php->func_type)) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return 1;
    }
    if (type != PARCA_PHP_USER_FUNCTION)
        return 0; /* an internal function: its native frames are in the stack */
    __u32 line = 0;
    if (opline != 0)
        bpf_probe_read_user(&line, sizeof(line), (void *)(opline + php->op_lineno));

    __u32 n = st->walk.n;
    if (n + 1 >= PARCA_MAX_STACK_DEPTH) {
        interp_count(st, PARCA_INTERP_STAT_TRUNCATED);
        return 1;
    }
    __u64 entry = (info & PARCA_PHP_CALL_TOP) ? PARCA_INTERP_ENTRY : 0;
    scratch->sample.frames[interp_index(n)] = PARCA_INTERP_TAG(PARCA_INTERP_PHP) | entry | (1ULL << 32) | line;
    scratch->sample.frames[interp_index(n + 1)] = func;
    st->walk.n = n + 2;
    interp_count(st, PARCA_INTERP_STAT_FRAMES);
    return 0;
}

/* The sampled thread's executor globals: the global in non-ZTS builds, the thread's TSRM block + offset in ZTS ones;
 * 0 when the thread has none (a thread PHP never ran in), -1 on a read fault. */
static __always_inline long php_executor_globals(struct parca_php_proc *php, struct task_struct *task, __u64 *eg)
{
    if (php->tls_offset == 0) {
        *eg = php->executor_globals;
        return 0;
    }
    __u64 tsrm_ls = 0, offset = 0;
    if (interp_read_ptr(task->thread.fsbase + php->tls_offset, 0, &tsrm_ls) != 0)
        return -1;
    if (interp_read_ptr(php->eg_offset_addr, 0, &offset) != 0)
        return -1;
    *eg = tsrm_ls == 0 || offset == 0 ? 0 : tsrm_ls + offset;
    return 0;
}

static __always_inline __u32 php_append(struct parca_php_proc *proc, struct task_struct *task, __u32 user_len)
{
    struct parca_interp_state *st = interp_state();
    if (!st)
        return user_len;
    interp_count(st, PARCA_INTERP_STAT_WALKS);
    st->php = *proc;
    __u64 eg = 0;
    if (php_executor_globals(&st->php, task, &eg) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    if (eg == 0) {
        interp_count(st, PARCA_INTERP_STAT_NO_THREAD);
        return user_len;
    }
    if (interp_read_ptr(eg, st->php.eg_current_execute_data, &st->php_walk.ex) != 0) {
        interp_count(st, PARCA_INTERP_STAT_READ_FAULT);
        return user_len;
    }
    if (st->php_walk.ex == 0) {
        interp_count(st, PARCA_INTERP_STAT_NO_THREAD); /* not running PHP code (start-up, shutdown) */
        return user_len;
    }
    st->walk.n = user_len;
    bpf_loop(PARCA_PHP_MAX_FRAMES, php_frame_step, NULL, 0);
    return st->walk.n;
}

#endif
