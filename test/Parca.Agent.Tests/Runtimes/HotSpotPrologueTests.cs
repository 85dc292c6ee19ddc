using Parca.Agent.Runtimes.Java;
using Parca.Symbols.Cfi;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// Rows from HotSpot's entry code. The byte strings are the first bytes of methods OpenJDK 17.0.15 compiled for
/// tracees/javachain, read from a running JVM's /proc/PID/mem at the addresses its Compiler.perfmap listed.
/// </summary>
public sealed class HotSpotPrologueTests
{
    private static List<UnwindRow> Rows(string hex, uint size = 0x300)
    {
        var rows = new List<UnwindRow>();
        Assert.True(HotSpotPrologue.TryAppendRows(Convert.FromHexString(hex), 0x1000, size, rows), "not understood: " + hex);
        return rows;
    }

    [Fact]
    public void C2_static_method_bangs_pushes_rbp_and_subtracts_its_frame()
    {
        // mov [rsp-0x14000], eax; push rbp; sub rsp, 0x10; movabs rcx, ...
        var rows = Rows("89842400c0feff554883ec1048b9b9e5e41c6d4758bf49ba1ddd6c4f91f44525");
        Assert.Equal(
            [
                new UnwindRow(0x1000, CfaRule.Rsp, RbpRule.Unchanged, 0, 8),
                new UnwindRow(0x1008, CfaRule.Rsp, RbpRule.CfaOffset, -16, 16),
                new UnwindRow(0x100c, CfaRule.Rsp, RbpRule.CfaOffset, -16, 32),
            ],
            rows);
    }

    [Fact]
    public void C2_on_stack_replacement_entry_without_a_bang_saves_rbp_into_its_frame()
    {
        // call ...; nop; sub rsp, 0x18; mov [rsp+0x10], rbp; mov ebp, [rsi] (the interpreter's OSR buffer)
        var rows = Rows("e81bf7f5156666660f1f8400000000004881ec1800000048896c24108b2e488b5e28");
        Assert.Equal(
            [
                new UnwindRow(0x1000, CfaRule.Rsp, RbpRule.Unchanged, 0, 8),
                new UnwindRow(0x1017, CfaRule.Rsp, RbpRule.Unchanged, 0, 0x20),
                new UnwindRow(0x101c, CfaRule.Rsp, RbpRule.CfaOffset, -16, 0x20),
            ],
            rows);
    }

    [Fact]
    public void C2_method_with_an_entry_before_the_bang_gets_the_frame_from_the_bang_on()
    {
        var rows = Rows("e89bd9f5156666660f1f84000000000089842400c0feff554883ec304c8b7638");
        Assert.Equal(new UnwindRow(0x1018, CfaRule.Rsp, RbpRule.CfaOffset, -16, 16), rows[1]);
        Assert.Equal(new UnwindRow(0x101c, CfaRule.Rsp, RbpRule.CfaOffset, -16, 16 + 0x30), rows[2]);
    }

    [Fact]
    public void C1_method_made_not_entrant_keeps_its_frame_behind_the_patched_jump()
    {
        // jmp (over the bang's first five bytes), fe ff (its rest), push rbp, sub rsp, 0x170
        var rows = Rows("e93b6a5807feff554881ec7001000048b8a023404f567f00008b88f4000000");
        Assert.Equal(
            [
                new UnwindRow(0x1000, CfaRule.Rsp, RbpRule.Unchanged, 0, 8),
                new UnwindRow(0x1008, CfaRule.Rsp, RbpRule.CfaOffset, -16, 16),
                new UnwindRow(0x100f, CfaRule.Rsp, RbpRule.CfaOffset, -16, 16 + 0x170),
            ],
            rows);
    }

    [Fact]
    public void Frame_pointer_setup_after_the_push_makes_rbp_the_cfa_base()
    {
        // A native wrapper / PreserveFramePointer: bang, push rbp, mov rbp, rsp, sub rsp, 0x20
        var rows = Rows("89842400c0feff55488bec4883ec20");
        Assert.Equal(new UnwindRow(0x100b, CfaRule.Rbp, RbpRule.CfaOffset, -16, 16), rows[^1]);
    }

    [Theory]
    [InlineData("4883ec08488b0424c3")]           // no bang, a sub without saving rbp: not a compiled Java frame
    [InlineData("89842400c0feff4883ec10")]       // a bang without push rbp
    [InlineData("")]
    public void Other_code_gets_no_rows(string hex)
    {
        var rows = new List<UnwindRow>();
        Assert.False(HotSpotPrologue.TryAppendRows(Convert.FromHexString(hex), 0, 0x100, rows));
        Assert.Empty(rows);
    }
}
