namespace Parca.Agent.Interpreters;

/// <summary>
/// The interpreted frames the BPF walker appends behind a sample's native user frames (bpf/interp.h): two words
/// per frame, a tag word (language in bits 60–62, entry flag bit 59, instruction + 1 in bits 32–55, the code
/// object's first line in bits 0–31) and the code object address. Native frames are user addresses (below 2^47),
/// so the first tag word marks where the interpreted frames begin.
/// </summary>
internal static class InterpreterFrames
{
    public const int Python = 1;

    /// <summary>The pprof mapping file interpreted frames of <paramref name="language"/> carry (their language mark).</summary>
    public static string MappingFile(int language) => language == Python ? "[python]" : "[interpreter]";

    /// <summary>The Arrow v2 frame_type of a pprof mapping file, or null for one that is not an interpreter's.</summary>
    public static string? FrameType(string? mappingFile) => mappingFile == "[python]" ? "python" : null;

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
}
