using Parca.Agent.Interpreters;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// The Perl 5.36 table must equal what Debian's own headers say: compile offsetof/sizeof of every field the agent
/// reads against /usr/lib/x86_64-linux-gnu/perl/5.36/CORE with perl's own compiler flags, and compare.
/// </summary>
public sealed class PerlLayoutTests
{
    [Fact]
    public void Perl_536_offsets_match_Debians_headers()
    {
        var c = LayoutProgram.Run(
            """
            #include <EXTERN.h>
            #include <perl.h>
            #include <stdio.h>
            #include <stddef.h>
            #define O(name, type, field) printf(name " %zu\n", offsetof(type, field));
            int main(void) {
                O("curcop", struct interpreter, Icurcop) O("curstackinfo", struct interpreter, Icurstackinfo)
                O("si_cxstack", struct stackinfo, si_cxstack) O("si_prev", struct stackinfo, si_prev) O("si_cxix", struct stackinfo, si_cxix)
                printf("cx_size %zu\n", sizeof(PERL_CONTEXT));
                O("cx_type", PERL_CONTEXT, cx_u.cx_blk.blku_type) O("cx_oldcop", PERL_CONTEXT, cx_u.cx_blk.blku_oldcop)
                O("cx_cv", PERL_CONTEXT, cx_u.cx_blk.blk_u.blku_sub.cv)
                O("cop_line", COP, cop_line) O("cop_file", COP, cop_file)
                O("sv_any", struct sv, sv_any) O("sv_flags", struct sv, sv_flags)
                O("cv_stash", XPVCV, xcv_stash) O("cv_gv", XPVCV, xcv_gv_u) O("cv_file", XPVCV, xcv_file) O("cv_flags", XPVCV, xcv_flags)
                O("gv_name", XPVGV, xiv_u.xivu_namehek) O("gv_stash", XPVGV, xnv_u.xgv_stash)
                O("hv_aux", struct xpvhv_with_aux, xhv_aux) O("aux_name", struct xpvhv_aux, xhv_name_u) O("aux_count", struct xpvhv_aux, xhv_name_count)
                O("hek_len", struct hek, hek_len) O("hek_key", struct hek, hek_key)
                printf("flags %#x %#x\n", (unsigned)CVf_NAMED, (unsigned)SVf_OOK);
                printf("cxt %d %d %d %d\n", CXt_SUB, CXt_FORMAT, CXt_EVAL, CXTYPEMASK);
                printf("version %d %d\n", PERL_REVISION, PERL_VERSION);
                return 0;
            }
            """,
            Tracees.Run("perl", "-MExtUtils::Embed -e ccopts").Trim());
        var l = PerlLayouts.For(5, 36)!;

        Assert.Equal("5 36", c["version"]);
        var expected = new (string Name, int Value)[]
        {
            ("curcop", l.InterpCurcop), ("curstackinfo", l.InterpCurstackinfo), ("si_cxstack", l.StackInfoCxstack), ("si_prev", l.StackInfoPrev),
            ("si_cxix", l.StackInfoCxix), ("cx_size", l.ContextSize), ("cx_type", l.ContextType), ("cx_oldcop", l.ContextOldcop), ("cx_cv", l.ContextSubCv),
            ("cop_line", l.CopLine), ("cop_file", l.CopFile), ("sv_any", 0), ("sv_flags", l.SvFlags), ("cv_stash", l.CvStash), ("cv_gv", l.CvGvOrHek),
            ("cv_file", l.CvFile), ("cv_flags", l.CvFlags), ("gv_name", l.GvNameHek), ("gv_stash", l.GvStash), ("hv_aux", l.HvAux),
            ("aux_name", l.HvAuxName), ("aux_count", l.HvAuxNameCount), ("hek_len", l.HekLength), ("hek_key", l.HekKey),
        };
        LayoutProgram.AssertValues(c, expected);

        Assert.Equal($"0x{l.CvNamedFlag:x} 0x{l.SvOokFlag:x}", c["flags"]);
        Assert.Equal("9 10 11 15", c["cxt"]); // PARCA_PERL_CXT_SUB, _FORMAT, _EVAL, PARCA_PERL_CXTYPEMASK in bpf/interp_perl.h
    }
}
