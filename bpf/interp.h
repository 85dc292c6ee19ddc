/* Interpreter frames (docs/agent.md "Python stacks", "Perl stacks", "Ruby stacks", "PHP stacks"). After the native
 * walk, a process the agent recognised as an interpreter (parca_python_procs[pid], parca_perl_procs[pid],
 * parca_ruby_procs[pid], parca_php_procs[pid]) gets its interpreted call chain
 * appended to the user frames, two words per frame, leaf first:
 *
 *   word 0: PARCA_INTERP_TAG(lang) | entry << 59 | (instruction + 1) << 32 | fingerprint
 *   word 1: the frame's code object address
 *
 * A tag word is >= 2^60 and below 2^63: never a user address (< 2^47) nor a kernel one, so user space finds the
 * first interpreted frame by its tag. "entry" marks the outermost frame run by one native call of the interpreter
 * loop, which is how user space splices each run in place of its native loop frame. The low word is per language:
 * Ruby's iseq size (a fingerprint against address reuse), Perl's and PHP's running line; Python's is 0 (user space
 * re-checks a cached code object at its address once per window instead: one read less per frame here).
 * Included by profiler.bpf.c (needs struct scratch and count()). */
#ifndef PARCA_INTERP_H
#define PARCA_INTERP_H

#define PARCA_INTERP_PYTHON 1
#define PARCA_INTERP_PERL 2
#define PARCA_INTERP_RUBY 3
#define PARCA_INTERP_PHP 4
#define PARCA_INTERP_V8 5
#define PARCA_INTERP_TAG(lang) ((__u64)(lang) << 60)
#define PARCA_INTERP_ENTRY (1ULL << 59)
#define PARCA_INTERP_MAX_FRAMES 64   /* interpreted frames per sample (two words each) */
#define PARCA_INTERP_MAX_THREADS 256 /* thread states searched for the sampled thread */
#define PARCA_INTERP_NONE 0xffff     /* an offset the version does not have */
#define PARCA_INTERP_BUF 128         /* bytes of one frame read at once; every offset + 8 fits */

/* Per-process Python layout, written by src/Parca.Agent/Interpreters/PythonProcess.cs; the values and their sources
 * per version are in PythonOffsets.cs. */
struct parca_python_proc {
    __u64 runtime;               /* address of _PyRuntime in the process */
    __u16 runtime_interp_head;   /* _PyRuntimeState.interpreters.head */
    __u16 interp_threads_head;   /* PyInterpreterState.threads.head */
    __u16 tstate_next;           /* PyThreadState.next */
    __u16 tstate_thread_id;      /* PyThreadState.thread_id (pthread_self() = the thread's fs base) */
    __u16 tstate_frame;          /* PyThreadState.frame (<= 3.10), .cframe (3.11, 3.12), .current_frame (3.13) */
    __u16 cframe_current_frame;  /* _PyCFrame.current_frame (3.11, 3.12), else PARCA_INTERP_NONE */
    __u16 frame_code;            /* f_code / f_executable */
    __u16 frame_previous;        /* f_back / previous */
    __u16 frame_instr;           /* prev_instr / instr_ptr (pointer), or f_lasti (int, <= 3.10) */
    __u16 frame_is_entry;        /* _PyInterpreterFrame.is_entry (3.11), else PARCA_INTERP_NONE */
    __u16 frame_owner;           /* _PyInterpreterFrame.owner (3.12+), else PARCA_INTERP_NONE */
    __u16 code_adaptive;         /* PyCodeObject.co_code_adaptive: the first instruction (pointer versions) */
    __u16 code_firstlineno;      /* PyCodeObject.co_firstlineno (not read here: user space checks code objects) */
    __u8 instr_is_pointer;       /* 1: frame_instr is a pointer into co_code_adaptive; 0: an int f_lasti */
    __u8 owner_cstack;           /* owner value of the interpreter's C-stack entry frames (3.12+: 3) */
    __u16 frame_size;            /* bytes to read per frame (all frame offsets + 8 fit) */
    __u16 reserved[3];
};

/* Per-process Perl layout, written by src/Parca.Agent/Interpreters/InterpreterMaps.cs; the values and their sources
 * per version are in PerlLayouts.cs. */
struct parca_perl_proc {
    __u64 interp;              /* address of PL_curinterp (used without a thread-local context) */
    __s64 tls_offset;          /* PL_current_context's address minus the thread's fs base; 0 = none */
    __u16 interp_curcop;       /* struct interpreter.Icurcop (intrpvar.h) */
    __u16 interp_curstackinfo; /* struct interpreter.Icurstackinfo */
    __u16 si_cxstack;          /* struct stackinfo.si_cxstack (cop.h) */
    __u16 si_prev;             /* struct stackinfo.si_prev */
    __u16 si_cxix;             /* struct stackinfo.si_cxix (I32) */
    __u16 cx_size;             /* sizeof(PERL_CONTEXT) */
    __u16 cx_type;             /* PERL_CONTEXT.cx_u.cx_blk.blku_type (U8, CXt_* in the low 4 bits) */
    __u16 cx_oldcop;           /* PERL_CONTEXT.cx_u.cx_blk.blku_oldcop */
    __u16 cx_sub_cv;           /* PERL_CONTEXT.cx_u.cx_blk.blk_u.blku_sub.cv */
    __u16 cx_read;             /* bytes of a context read at once (the three offsets + 8 fit) */
    __u16 cop_line;            /* COP.cop_line (line_t) */
    __u16 cop_file;            /* COP.cop_file (char *; threaded builds) */
    __u16 reserved[4];
};

/* Where the Perl walk is (interp_perl.h). */
struct parca_perl_walk {
    __u64 si;      /* the stack info whose contexts are read */
    __u64 cop;     /* the statement running in the frame being emitted */
    __u64 cxstack; /* si's context array */
    __s32 cxix;    /* the next context to read, -1 = si is done */
    __u32 reserved;
};

/* Per-process Ruby layout, written by src/Parca.Agent/Interpreters/InterpreterMaps.cs; the values and their sources
 * per version are in RubyLayouts.cs. */
struct parca_ruby_proc {
    __s64 tls_offset;          /* ruby_current_ec's address minus the thread's fs base */
    __u16 ec_vm_stack;         /* rb_execution_context_t.vm_stack (vm_core.h) */
    __u16 ec_vm_stack_size;    /* rb_execution_context_t.vm_stack_size (in VALUEs) */
    __u16 ec_cfp;              /* rb_execution_context_t.cfp */
    __u16 cfp_size;            /* sizeof(rb_control_frame_t) */
    __u16 cfp_pc;              /* rb_control_frame_t.pc */
    __u16 cfp_iseq;            /* rb_control_frame_t.iseq */
    __u16 cfp_ep;              /* rb_control_frame_t.ep (ep[0] holds the frame flags) */
    __u16 iseq_body;           /* struct rb_iseq_struct.body */
    __u16 body_iseq_size;      /* struct rb_iseq_constant_body.iseq_size (unsigned int) */
    __u16 body_iseq_encoded;   /* struct rb_iseq_constant_body.iseq_encoded */
    __u16 reserved[6];
};

/* Where the Ruby walk is (interp_ruby.h). */
struct parca_ruby_walk {
    __u64 cfp; /* the next control frame to read */
    __u64 end; /* the end of the thread's VM stack: control frames lie below it */
};

/* Per-process PHP layout, written by src/Parca.Agent/Interpreters/InterpreterMaps.cs; the values and their sources
 * per version are in PhpLayouts.cs. */
struct parca_php_proc {
    __u64 executor_globals;          /* address of executor_globals (non-ZTS builds; 0 in ZTS builds) */
    __u16 eg_current_execute_data;   /* zend_executor_globals.current_execute_data (zend_globals.h) */
    __u16 ex_opline;                 /* zend_execute_data.opline (zend_compile.h) */
    __u16 ex_func;                   /* zend_execute_data.func */
    __u16 ex_call_info;              /* zend_execute_data.This.u1.type_info (ZEND_CALL_INFO) */
    __u16 ex_prev;                   /* zend_execute_data.prev_execute_data */
    __u16 func_type;                 /* zend_function.type (u8) */
    __u16 op_lineno;                 /* zend_op.lineno (u32) */
    __u16 reserved;
    __s64 tls_offset;                /* ZTS: _tsrm_ls_cache's address minus the thread's fs base; 0 = non-ZTS */
    __u64 eg_offset_addr;            /* ZTS: address of executor_globals_offset (a size_t set at start-up) */
};

/* Where the PHP walk is (interp_php.h). */
struct parca_php_walk {
    __u64 ex; /* the next zend_execute_data to read */
};

/* Counters of the interpreter walk (parca_interp_state.stats), exported on /metrics. */
enum parca_interp_stat {
    PARCA_INTERP_STAT_WALKS = 0,         /* samples of a known interpreter process */
    PARCA_INTERP_STAT_NO_THREAD = 1,     /* the sampled thread has no thread state (not a Python thread, or exiting) */
    PARCA_INTERP_STAT_READ_FAULT = 2,    /* a thread state or frame could not be read */
    PARCA_INTERP_STAT_FRAMES = 3,        /* interpreted frames appended */
    PARCA_INTERP_STAT_TRUNCATED = 4,     /* walks cut by the frame limit or a full sample */
    PARCA_INTERP_STAT_SAMPLE_NS = 5,     /* run time of the whole program for samples with a walk (ktime, ns) */
    PARCA_INTERP_STAT_WALK_NS = 6,       /* of which in the interpreter walk */
    PARCA_INTERP_STAT_COUNT = 7,
};

struct parca_interp_walk {
    __u64 frame;      /* the next frame to read */
    __u64 thread;     /* thread state being searched */
    __u64 fsbase;     /* the sampled thread's fs base (= pthread_self()) */
    __u32 n;          /* words in sample.frames */
    __u32 pid;
    __u32 tid;
    __u32 pending_entry; /* index of the last frame's tag word, to mark it entry at a C-stack frame; or ~0 */
};

struct parca_interp_state {
    __u64 stats[PARCA_INTERP_STAT_COUNT];
    struct parca_interp_walk walk;
    struct parca_python_proc py; /* the sampled process's layout, copied once per sample */
    __u8 buf[PARCA_INTERP_BUF];
    struct parca_perl_proc pl; /* the sampled process's Perl layout, copied once per sample */
    struct parca_perl_walk pl_walk;
    struct parca_ruby_proc rb; /* the sampled process's Ruby layout, copied once per sample */
    struct parca_ruby_walk rb_walk;
    struct parca_php_proc php; /* the sampled process's PHP layout, copied once per sample */
    struct parca_php_walk php_walk;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct parca_interp_state);
} parca_interp_scratch SEC(".maps");

/* pid -> its Python layout. Written when the agent recognises a process, deleted when it exits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct parca_python_proc);
} parca_python_procs SEC(".maps");

/* pid -> its Perl layout. Written when the agent recognises a process, deleted when it exits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct parca_perl_proc);
} parca_perl_procs SEC(".maps");

/* pid -> its Ruby layout. Written when the agent recognises a process, deleted when it exits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct parca_ruby_proc);
} parca_ruby_procs SEC(".maps");

/* pid -> its PHP layout. Written when the agent recognises a process, deleted when it exits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct parca_php_proc);
} parca_php_procs SEC(".maps");

/* tid -> its PyThreadState, so the thread list is searched once per thread; checked against thread_id on use. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, __u64);
} parca_python_threads SEC(".maps");

static __always_inline void interp_count(struct parca_interp_state *st, __u32 stat)
{
    if (stat < PARCA_INTERP_STAT_COUNT)
        st->stats[stat] += 1;
}

/* An index into sample.frames the verifier can bound: the value is < PARCA_MAX_STACK_DEPTH already (callers check),
 * but clang compares a zero-extended copy and may drop a mask it proves redundant, so the mask is in asm. */
static __always_inline __u64 interp_index(__u64 i)
{
    asm volatile("%[i] &= 0x7f" : [i] "+r"(i));
    return i;
}

static __always_inline int interp_read_ptr(__u64 base, __u32 offset, __u64 *value)
{
    *value = 0;
    return bpf_probe_read_user(value, sizeof(*value), (void *)(base + offset));
}

#include "interp_python.h"
#include "interp_perl.h"
#include "interp_ruby.h"
#include "interp_php.h"
#include "interp_v8.h"

_Static_assert(PARCA_MAX_STACK_DEPTH == 0x7f, "interp_append bounds its result with a mask");

/* The program's own cost for samples of interpreter processes, so that the benchmark (and /metrics) can tell it
 * from every other process's on a shared machine: the whole run (from sample.timestamp_ns, taken at its start) and
 * the walk's part. Two ktime reads per interpreter sample; none for others. */
static __always_inline void interp_time(__u64 sample_start, __u64 walk_start, __u64 walk_end)
{
    struct parca_interp_state *st;
    __u32 zero = 0;
    if (walk_start == 0 || !(st = bpf_map_lookup_elem(&parca_interp_scratch, &zero)))
        return;
    __u64 now = bpf_ktime_get_ns();
    st->stats[PARCA_INTERP_STAT_SAMPLE_NS] += now - sample_start;
    st->stats[PARCA_INTERP_STAT_WALK_NS] += walk_end - walk_start;
}

/* Appends the interpreted frames of the sampled thread behind the user_len native frames; returns the new length.
 * The length comes back through the per-CPU walk state, where the verifier loses its bounds (see interp_index). */
static __always_inline __u32 interp_append(struct task_struct *task, __u32 tgid, __u32 user_len, __u64 *walk_start)
{
    __u64 n;
    *walk_start = bpf_ktime_get_ns();
    struct parca_python_proc *py = bpf_map_lookup_elem(&parca_python_procs, &tgid);
    if (py) {
        n = python_append(py, task, tgid, user_len);
    } else {
        struct parca_perl_proc *pl = bpf_map_lookup_elem(&parca_perl_procs, &tgid);
        if (pl) {
            n = perl_append(pl, task, user_len);
        } else {
            struct parca_ruby_proc *rb = bpf_map_lookup_elem(&parca_ruby_procs, &tgid);
            if (rb) {
                n = ruby_append(rb, task, user_len);
            } else {
                struct parca_php_proc *php = bpf_map_lookup_elem(&parca_php_procs, &tgid);
                if (php) {
                    n = php_append(php, task, user_len);
                } else {
                    struct parca_v8_proc *v8 = bpf_map_lookup_elem(&parca_v8_procs, &tgid);
                    if (!v8) {
                        *walk_start = 0; /* not an interpreter: not timed */
                        return user_len;
                    }
                    n = v8_append(v8, tgid, user_len);
                }
            }
        }
    }
    if (n > PARCA_MAX_STACK_DEPTH)
        n = PARCA_MAX_STACK_DEPTH;
    return interp_index(n);
}

#endif
