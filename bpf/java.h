/* Interpreted Java frames (docs/agent.md "Java stacks"). HotSpot's template interpreter keeps rbp as a frame pointer
 * and stores, at fixed slots below it, the Method* the frame runs and its bytecode pointer (bcp). The table walk
 * (unwind.h) steps through interpreter code by frame pointer; for a JVM the agent registered here (the interpreter's
 * code range, from the perf map the JVM wrote at the agent's request) it replaces the frame's pc word with
 *
 *   PARCA_JAVA_FRAME | (bcp & 0x7fff) << 44 | Method* >> 3
 *
 * so user space names the method (through the JVM's exported VMStructs) and finds the line from the bytecode index:
 * a Method* is 8-byte aligned user memory (< 2^47), so 44 bits hold it; the bcp's low 15 bits give the index modulo
 * 32 KiB against the method's known code start. Bit 59 keeps the word apart from user addresses (< 2^47) and from
 * the interpreter tags of interp.h (>= 2^60). One 48-byte read per interpreted frame. Included by unwind.h. */
#ifndef PARCA_JAVA_H
#define PARCA_JAVA_H

#define PARCA_JAVA_FRAME (1ULL << 59)
#define PARCA_JAVA_SLOTS 8 /* words read below rbp at once: [rbp - 64, rbp) */

/* Written by src/Parca.Agent/Runtimes/Java/HotSpotInterpreter.cs. */
struct parca_java_proc {
    __u64 interp_start;  /* the interpreter's code: [interp_start, interp_end) */
    __u64 interp_end;
    __u8 method_slot;    /* the Method* is word method_slot of [rbp - 64, rbp): rbp - 64 + 8 * method_slot */
    __u8 bcp_slot;       /* the bcp likewise */
    __u8 reserved[6];
};

/* HotSpotInterpreter.cs writes these bytes (ProcBytes, slot bytes at 16 and 17): keep both sides in step. */
_Static_assert(sizeof(struct parca_java_proc) == 24, "HotSpotInterpreter.ProcBytes");
_Static_assert(__builtin_offsetof(struct parca_java_proc, method_slot) == 16, "HotSpotInterpreter.Publish");

/* pid -> its JVM's interpreter. Written when the JVM's perf map names the interpreter, deleted when it exits. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct parca_java_proc);
} parca_java_procs SEC(".maps");

/* The word that stands for an interpreted frame at pc with frame pointer bp, or 0 when pc is not the interpreter's
 * or the frame cannot be read. The words [bp - 64, bp) are read at once (JDK 11-21 on x86-64: Method* at bp - 24,
 * slot 5; bcp at bp - 64, slot 0; user space sets the slots). leaf_bcp: the interrupted r13 for the leaf frame, else 0. */
static __always_inline __u64 java_frame_word(struct parca_java_proc *java, __u64 pc, __u64 bp, __u64 leaf_bcp)
{
    __u64 slots[PARCA_JAVA_SLOTS];
    if (!java || pc < java->interp_start || pc >= java->interp_end || bp < 64)
        return 0;
    if (bpf_probe_read_user(slots, sizeof(slots), (void *)(bp - sizeof(slots))) != 0)
        return 0;
    __u64 method = slots[java->method_slot & (PARCA_JAVA_SLOTS - 1)], bcp = slots[java->bcp_slot & (PARCA_JAVA_SLOTS - 1)];
    if (method == 0 || (method & 7) != 0 || method >= (1ULL << 47))
        return 0;
    /* The frame's bcp slot is written when the interpreter calls out (an invoke, a runtime call), so it is exact for
     * callers; the leaf's running bytecode is in r13 (rbcp) while the interpreter dispatches. r13 is taken when it
     * lies within 64 KiB (the largest method) of the slot, i.e. in the same method's bytecode; elsewhere in the
     * interpreter r13 holds something else and the slot stands. */
    if (leaf_bcp && leaf_bcp - bcp + 0x10000 < 0x20000)
        bcp = leaf_bcp;
    return PARCA_JAVA_FRAME | ((bcp & 0x7fff) << 44) | (method >> 3);
}

#endif
