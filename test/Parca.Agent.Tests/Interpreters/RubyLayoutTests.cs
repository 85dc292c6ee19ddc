using System.Buffers.Binary;
using Parca.Agent.Interpreters;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// The Ruby 3.1 table must equal what Debian's own build says: compile offsetof/sizeof of every field the agent
/// reads against rb_mjit_min_header-3.1.2.h (ruby3.1-dev; Ruby generates it from its internal headers for its JIT)
/// and compare; the line table's decoding is checked against a bit vector built as iseq.c builds it.
/// </summary>
public sealed class RubyLayoutTests
{
    private const string Header = "/usr/include/x86_64-linux-gnu/ruby-3.1.0/rb_mjit_min_header-3.1.2.h";

    [Fact]
    public void Ruby_31_offsets_match_Debians_headers()
    {
        var c = LayoutProgram.Run(
            $$"""
            #include "{{Header}}"
            int printf(const char *, ...);
            #define O(name, type, field) printf(name " %zu\n", __builtin_offsetof(type, field));
            int main(void) {
                O("ec_vm_stack", rb_execution_context_t, vm_stack) O("ec_vm_stack_size", rb_execution_context_t, vm_stack_size) O("ec_cfp", rb_execution_context_t, cfp)
                O("cfp_pc", rb_control_frame_t, pc) O("cfp_iseq", rb_control_frame_t, iseq) O("cfp_ep", rb_control_frame_t, ep)
                printf("cfp_size %zu\n", sizeof(rb_control_frame_t));
                O("iseq_body", struct rb_iseq_struct, body)
                O("body_size", struct rb_iseq_constant_body, iseq_size) O("body_encoded", struct rb_iseq_constant_body, iseq_encoded)
                O("body_path", struct rb_iseq_constant_body, location.pathobj) O("body_label", struct rb_iseq_constant_body, location.label)
                O("body_first_lineno", struct rb_iseq_constant_body, location.first_lineno)
                O("insns_body", struct rb_iseq_constant_body, insns_info.body) O("insns_positions", struct rb_iseq_constant_body, insns_info.positions)
                O("insns_size", struct rb_iseq_constant_body, insns_info.size) O("insns_succ", struct rb_iseq_constant_body, insns_info.succ_index_table)
                printf("insn_info_size %zu\n", sizeof(struct iseq_insn_info_entry)); O("insn_info_line", struct iseq_insn_info_entry, line_no)
                O("str_len", struct RString, as.heap.len) O("str_ptr", struct RString, as.heap.ptr) O("str_embed", struct RString, as.embed.ary)
                O("ary_len", struct RArray, as.heap.len) O("ary_ptr", struct RArray, as.heap.ptr) O("ary_embed", struct RArray, as.ary)
                printf("string_flags %#lx %#lx %d\n", (unsigned long)RSTRING_NOEMBED, (unsigned long)RSTRING_EMBED_LEN_MASK, (int)RSTRING_EMBED_LEN_SHIFT);
                printf("array_flag %#lx\n", (unsigned long)RARRAY_EMBED_FLAG);
                printf("frame_flags %#x %#x\n", (unsigned)VM_FRAME_FLAG_FINISH, (unsigned)VM_FRAME_FLAG_CFRAME);
                printf("types %d %d %d\n", (int)RUBY_T_STRING, (int)RUBY_T_ARRAY, (int)RUBY_T_MASK);
                return 0;
            }
            """,
            "-w",
            "-lruby-3.1"); // the header's inline functions call into libruby
        var l = RubyLayouts.For("3.1.2")!;

        var expected = new (string Name, int Value)[]
        {
            ("ec_vm_stack", l.ExecutionContextVmStack), ("ec_vm_stack_size", l.ExecutionContextVmStackSize), ("ec_cfp", l.ExecutionContextCfp),
            ("cfp_pc", l.ControlFramePc), ("cfp_iseq", l.ControlFrameIseq), ("cfp_ep", l.ControlFrameEp), ("cfp_size", l.ControlFrameSize),
            ("iseq_body", l.IseqBody), ("body_size", l.BodyIseqSize), ("body_encoded", l.BodyIseqEncoded), ("body_path", l.BodyPath),
            ("body_label", l.BodyLabel), ("body_first_lineno", l.BodyFirstLine), ("insns_body", l.BodyInsnsInfoBody),
            ("insns_positions", l.BodyInsnsInfoPositions), ("insns_size", l.BodyInsnsInfoSize), ("insns_succ", l.BodyInsnsInfoSuccinct),
            ("insn_info_size", l.InsnInfoSize), ("insn_info_line", l.InsnInfoLine), ("str_len", l.StringLength), ("str_ptr", l.StringPointer),
            ("str_embed", l.StringEmbedded), ("ary_len", l.ArrayLength), ("ary_ptr", l.ArrayPointer), ("ary_embed", l.ArrayEmbedded),
        };
        LayoutProgram.AssertValues(c, expected);

        Assert.Equal($"0x{l.StringNoEmbedFlag:x} 0x{l.StringEmbedLengthMask:x} {l.StringEmbedLengthShift}", c["string_flags"]);
        Assert.Equal($"0x{l.ArrayEmbedFlag:x}", c["array_flag"]);
        Assert.Equal("0x20 0x80", c["frame_flags"]); // PARCA_RUBY_FRAME_FINISH, _CFRAME in bpf/interp_ruby.h
        Assert.Equal("5 7 31", c["types"]); // RubyCodeReader's type checks (T_STRING, T_ARRAY, the type mask 0x1f)
    }

    [Fact]
    public void Succinct_line_index_gives_every_entry_start_in_both_parts()
    {
        // Entries starting at 0, 3, 10, 53 (immediate part) and 54, 141, 600, 700 (two 512-position blocks), built
        // the way iseq.c's succ_index_table_create lays them out for an iseq of 800 instructions.
        int[] starts = [0, 3, 10, 53, 54, 141, 600, 700];
        const int maxPosition = 800, immediateWords = 6, blocks = (maxPosition - 54 + 511) / 512;
        var table = new byte[48 + (blocks * 80)];
        var rank = 0;
        for (var word = 0; word < immediateWords; word++)
        {
            ulong packed = 0;
            for (var i = 0; i < 9; i++)
            {
                if (rank < starts.Length && starts[rank] == (word * 9) + i)
                {
                    rank++;
                }

                packed |= (ulong)rank << (7 * i);
            }

            BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(word * 8), packed);
        }

        foreach (var start in starts.Where(s => s >= 54))
        {
            var bit = start - 54;
            var at = 48 + ((bit / 512) * 80) + 16 + ((bit % 512 / 64) * 8);
            BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(at), BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(at)) | (1UL << (bit % 64)));
        }

        Assert.Equal(starts, RubyLineTable.Invert(table, starts.Length, immediateWords, blocks));
    }
}
