namespace Parca.Agent.Interpreters;

/// <summary>
/// Ruby (MRI) structure offsets on x86-64. Every value is offsetof/sizeof of the named field as Debian's ruby3.1-dev
/// declares it in rb_mjit_min_header-3.1.2.h (the header Ruby generates from its own vm_core.h, iseq.h and the public
/// ruby/internal/core headers for its JIT, so it matches the build), computed by compiling it; RubyLayoutTests
/// compiles the same program in CI and compares. The succinct line index (struct succ_index_table) is not in any
/// header: its layout is iseq.c's (RubyLineTable). Only Debian 12's 3.1 is in the table: other versions are
/// detected, logged once and profiled natively.
/// </summary>
internal static class RubyLayouts
{
    private static readonly RubyLayout s_ruby31 = new()
    {
        Version = "3.1",
        ExecutionContextVmStack = 0,       // rb_execution_context_t.vm_stack (VALUE *)
        ExecutionContextVmStackSize = 8,   // rb_execution_context_t.vm_stack_size (size_t, in VALUEs)
        ExecutionContextCfp = 16,          // rb_execution_context_t.cfp
        ControlFrameSize = 64,             // sizeof(rb_control_frame_t) (pc, sp, iseq, self, ep, block_code, __bp__, jit_return)
        ControlFramePc = 0,                // rb_control_frame_t.pc
        ControlFrameIseq = 16,             // rb_control_frame_t.iseq
        ControlFrameEp = 32,               // rb_control_frame_t.ep
        IseqBody = 16,                     // struct rb_iseq_struct.body
        BodyIseqSize = 4,                  // struct rb_iseq_constant_body.iseq_size
        BodyIseqEncoded = 8,               // struct rb_iseq_constant_body.iseq_encoded
        BodyPath = 64,                     // .location.pathobj (String, or Array [path, realpath])
        BodyLabel = 80,                    // .location.label (String)
        BodyFirstLine = 88,                // .location.first_lineno (Fixnum)
        BodyInsnsInfoBody = 120,           // .insns_info.body (struct iseq_insn_info_entry *)
        BodyInsnsInfoPositions = 128,      // .insns_info.positions (unsigned int *, NULL once the succinct index is built)
        BodyInsnsInfoSize = 136,           // .insns_info.size (unsigned int)
        BodyInsnsInfoSuccinct = 144,       // .insns_info.succ_index_table
        InsnInfoSize = 12,                 // sizeof(struct iseq_insn_info_entry)
        InsnInfoLine = 0,                  // struct iseq_insn_info_entry.line_no (int)
        StringLength = 16,                 // struct RString.as.heap.len
        StringPointer = 24,                // struct RString.as.heap.ptr
        StringEmbedded = 16,               // struct RString.as.embed.ary
        StringNoEmbedFlag = 0x2000,        // RSTRING_NOEMBED (RUBY_FL_USER1)
        StringEmbedLengthMask = 0x7c000,   // RSTRING_EMBED_LEN_MASK
        StringEmbedLengthShift = 14,       // RSTRING_EMBED_LEN_SHIFT
        ArrayLength = 16,                  // struct RArray.as.heap.len
        ArrayPointer = 32,                 // struct RArray.as.heap.ptr
        ArrayEmbedded = 16,                // struct RArray.as.ary
        ArrayEmbedFlag = 0x2000,           // RARRAY_EMBED_FLAG (RUBY_FL_USER1)
    };

    /// <summary>The layout of Ruby <paramref name="version"/> ("3.1.2"), or null when the agent has none.</summary>
    public static RubyLayout? For(string version) => version.StartsWith("3.1.", StringComparison.Ordinal) ? s_ruby31 : null;
}
