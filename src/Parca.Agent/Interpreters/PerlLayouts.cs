namespace Parca.Agent.Interpreters;

/// <summary>
/// Perl 5 structure offsets on x86-64. Every value is offsetof/sizeof of the named field in that version's headers
/// (intrpvar.h via struct interpreter, cop.h, cv.h, gv.h, hv.h, sv.h, hv_func.h), computed by compiling them as
/// Debian installs them (/usr/lib/x86_64-linux-gnu/perl/5.36/CORE, with `perl -MExtUtils::Embed -e ccopts`);
/// PerlLayoutTests compiles the same program in CI and compares. Only Debian 12's 5.36 is in the table: other
/// versions are detected, logged once and profiled natively.
/// </summary>
internal static class PerlLayouts
{
    private static readonly PerlLayout s_perl536 = new()
    {
        Version = 36,
        InterpCurcop = 208,        // struct interpreter.Icurcop (intrpvar.h PERLVAR(I, curcop, COP *))
        InterpCurstackinfo = 224,  // struct interpreter.Icurstackinfo
        StackInfoCxstack = 8,      // struct stackinfo.si_cxstack (cop.h)
        StackInfoPrev = 16,        // struct stackinfo.si_prev
        StackInfoCxix = 32,        // struct stackinfo.si_cxix (I32)
        ContextSize = 104,         // sizeof(PERL_CONTEXT) (cop.h struct context)
        ContextType = 0,           // PERL_CONTEXT.cx_u.cx_blk.blku_type (U8)
        ContextOldcop = 16,        // PERL_CONTEXT.cx_u.cx_blk.blku_oldcop
        ContextSubCv = 72,         // PERL_CONTEXT.cx_u.cx_blk.blk_u.blku_sub.cv
        CopLine = 36,              // COP.cop_line (line_t)
        CopFile = 48,              // COP.cop_file (char *, USE_ITHREADS)
        SvFlags = 12,              // struct sv.sv_flags (sv.h); sv_any is at 0
        CvStash = 32,              // XPVCV.xcv_stash (cv.h _XPVCV_COMMON)
        CvGvOrHek = 56,            // XPVCV.xcv_gv_u (GV *, or HEK * when CvNAMED)
        CvFile = 64,               // XPVCV.xcv_file
        CvFlags = 92,              // XPVCV.xcv_flags (cv_flags_t, U32)
        CvNamedFlag = 0x8000,      // CVf_NAMED (cv.h)
        GvNameHek = 32,            // XPVGV.xiv_u.xivu_namehek (gv.h GvNAME_HEK)
        GvStash = 40,              // XPVGV.xnv_u.xgv_stash (gv.h GvSTASH)
        HvAux = 32,                // struct xpvhv_with_aux.xhv_aux (hv.h HvAUX, present when SvOOK)
        HvAuxName = 0,             // struct xpvhv_aux.xhv_name_u (HEK *, or HEK ** when xhv_name_count != 0)
        HvAuxNameCount = 28,       // struct xpvhv_aux.xhv_name_count (I32)
        SvOokFlag = 0x02000000,    // SVf_OOK (sv.h)
        HekLength = 4,             // struct hek.hek_len (I32; hv.h)
        HekKey = 8,                // struct hek.hek_key
    };

    /// <summary>The layout of Perl 5.<paramref name="version"/>, or null when the agent has none.</summary>
    public static PerlLayout? For(int revision, int version) => revision == 5 && version == 36 ? s_perl536 : null;
}
