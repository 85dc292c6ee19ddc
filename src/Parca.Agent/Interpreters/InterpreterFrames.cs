namespace Parca.Agent.Interpreters;

/// <summary>
/// The interpreted frames the BPF walker appends behind a sample's native user frames (bpf/interp.h): two words
/// per frame, a tag word (language in bits 60–62, entry flag bit 59, instruction + 1 in bits 32–55, the code
/// object's first line in bits 0–31) and the code object address. Native frames are user addresses (below 2^47),
/// so the first tag word marks where the interpreted frames begin. Perl frames (bpf/interp_perl.h) put their kind
/// (<see cref="PerlSub"/>, <see cref="PerlEval"/>, <see cref="PerlMain"/>) where Python has the instruction and the
/// executing line where Python has the first line. Ruby frames (bpf/interp_ruby.h) carry the pc's instruction index
/// like Python and the iseq's size where Python has the first line; PHP frames (bpf/interp_php.h) the running line
/// like Perl.
/// </summary>
internal static class InterpreterFrames
{
    public const int Python = 1;
    public const int Perl = 2;
    public const int Ruby = 3;
    public const int Php = 4;
    public const int V8 = 5;

    /// <summary>Perl frame kinds: a sub (word 1 = its CV), an eval or the main program (word 1 = the file name's char *).</summary>
    public const int PerlSub = 1;
    public const int PerlEval = 2;
    public const int PerlMain = 3;

    /// <summary>The pprof mapping file interpreted frames of <paramref name="language"/> carry (their language mark).</summary>
    public static string MappingFile(int language) => language switch
    {
        Python => "[python]",
        Perl => "[perl]",
        Ruby => "[ruby]",
        Php => "[php]",
        V8 => "[v8js]",
        _ => "[interpreter]",
    };

    /// <summary>The Arrow v2 frame_type of a pprof mapping file, or null for one that is not an interpreter's.</summary>
    public static string? FrameType(string? mappingFile) => mappingFile switch
    {
        "[python]" => "python",
        "[perl]" => "perl",
        "[ruby]" => "ruby",
        "[php]" => "php",
        "[v8js]" => "v8js",
        _ => null,
    };

    public static bool IsTag(ulong word) => (word >> 60) is > 0 and < 8;

    /// <summary>How many of <paramref name="user"/>'s words are native frames (all of them when no interpreted frames follow).</summary>
    public static int NativeLength(ReadOnlySpan<ulong> user)
    {
        if (user.Length < 2 || !IsTag(user[^2]))
        {
            return user.Length;
        }

        for (var i = 0; i < user.Length; i++)
        {
            if (IsTag(user[i]))
            {
                return i;
            }
        }

        return user.Length;
    }

    public static int Language(ulong tag) => (int)((tag >> 60) & 7);

    public static bool IsEntry(ulong tag) => ((tag >> 59) & 1) != 0;

    /// <summary>The instruction (code units; −1 = not started) the frame was executing.</summary>
    public static int Instruction(ulong tag) => (int)((tag >> 32) & 0xffffff) - 1;

    public static uint Fingerprint(ulong tag) => (uint)tag;

    /// <summary>A V8 frame's native frame (bpf/interp_v8.h: its index + 1 in bits 32–39): the one it takes the place of.</summary>
    public static int NativeIndex(ulong tag) => (int)((tag >> 32) & 0xff) - 1;

    /// <summary>The pc a V8 frame's code is looked up at: the interrupted pc for the first frame, else the call before the return address.</summary>
    public static ulong V8LookupPc(ReadOnlySpan<ulong> user, int nativeIndex) => nativeIndex == 0 ? user[0] : user[nativeIndex] - 1;

    /// <summary>
    /// What tells two objects at one address apart in the symbol cache: a Python code object's first line, a Ruby
    /// iseq's size; a Perl frame's kind, a PHP frame's constant 1 (their low word is the executing line, which
    /// changes while the function stays the same).
    /// </summary>
    public static uint CacheFingerprint(ulong tag) => Language(tag) is Perl or Php ? (uint)((tag >> 32) & 0xffffff) : (uint)tag;
}
