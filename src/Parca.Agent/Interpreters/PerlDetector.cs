using System.Text.RegularExpressions;
using Parca.Agent.Processes;
using Parca.Symbols.Elf;

namespace Parca.Agent.Interpreters;

/// <summary>A recognised Perl process: where its interpreter pointer and runops loop are.</summary>
internal sealed record PerlProcess(int Pid, ulong StartTime, string Path, int Version, int Subversion, PerlLayout Layout, ulong Interp, long TlsOffset, ulong RunopsStart, ulong RunopsEnd)
    : IInterpreterProcess
{
    public string VersionText => $"5.{Version}.{Subversion}";

    public int Language => InterpreterFrames.Perl;

    /// <summary>True for a pc inside Perl_runops_standard, the loop whose native frames the Perl frames replace.</summary>
    public bool IsEvalFrame(ulong pc) => pc >= RunopsStart && pc < RunopsEnd;
}

/// <summary>What Perl detection found in a process.</summary>
internal readonly record struct PerlDetection(PerlProcess? Process, string? UnsupportedVersion, string? Path, string? Problem);

/// <summary>
/// Recognises Perl 5 from a process's executable mappings: the file named <c>perl</c>, <c>perl5.X.Y</c> or
/// <c>libperl.so*</c> (or the executable itself) that defines <c>PL_curinterp</c> and <c>Perl_runops_standard</c>;
/// its version from the <c>PL_revision</c>, <c>PL_version</c> and <c>PL_subversion</c> bytes. A perl executable
/// with the thread-local <c>PL_current_context</c> (5.36+, built with PERL_THREAD_LOCAL, as Debian's is) gives
/// each thread's interpreter: the executable's TLS block is the first static one, right below the thread pointer
/// (x86-64 glibc, TLS variant II), so the variable's address is fs base − the block's rounded size + its offset.
/// Otherwise the walker reads <c>PL_curinterp</c>, the first interpreter (every thread of a program without ithreads).
/// </summary>
internal static partial class PerlDetector
{
    [GeneratedRegex(@"^(?:perl(?:5[\d.]*)?|libperl\.so(?:\.[\d.]+)?)$")]
    private static partial Regex FileName();

    public static PerlDetection Detect(ProcessInfo info, Func<MemoryMapping, ObjectFile?> open) =>
        InterpreterFiles.FirstDetection(info, open,
            m => FileName().IsMatch(System.IO.Path.GetFileName(m.Path)) || m.Path == info.ExecutablePath,
            (mapping, file) => Examine(info, mapping, file, mapping.Path == info.ExecutablePath));

    /// <summary>What <paramref name="file"/> (mapped by <paramref name="mapping"/>) says; null when it is no Perl.</summary>
    private static PerlDetection? Examine(ProcessInfo info, MemoryMapping mapping, ObjectFile file, bool isExecutable)
    {
        if (file.Elf is not { } elf || file.Handle is not { } handle)
        {
            return null;
        }

        Dictionary<string, (ulong Value, ulong Size)> symbols;
        byte[]? revision, version, subversion;
        try
        {
            symbols = ElfNamedSymbols.Find(elf, handle, "PL_curinterp", "Perl_runops_standard", "PL_revision", "PL_version", "PL_subversion", "PL_current_context");
            if (!symbols.TryGetValue("PL_curinterp", out _) || !symbols.TryGetValue("Perl_runops_standard", out _))
            {
                return null; // not a Perl interpreter (e.g. a script named perl-something)
            }

            revision = Byte(elf, handle, symbols, "PL_revision");
            version = Byte(elf, handle, symbols, "PL_version");
            subversion = Byte(elf, handle, symbols, "PL_subversion");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            return new PerlDetection(null, null, mapping.Path, e.Message);
        }

        if (revision is null || version is null || subversion is null)
        {
            return new PerlDetection(null, "5.?", mapping.Path, null);
        }

        if (PerlLayouts.For(revision[0], version[0]) is not { } layout)
        {
            return new PerlDetection(null, $"{revision[0]}.{version[0]}.{subversion[0]}", mapping.Path, null);
        }

        if (!elf.TryFileOffsetToAddress(mapping.Offset, out var mappedAddress))
        {
            return new PerlDetection(null, null, mapping.Path, $"mapping offset {mapping.Offset:x} is outside the file's loadable segments");
        }

        var bias = mapping.Start - mappedAddress;
        var tls = isExecutable && symbols.TryGetValue("PL_current_context", out var context) ? InterpreterFiles.StaticTlsOffset(elf, context.Value) : 0;
        var runops = symbols["Perl_runops_standard"];
        return new PerlDetection(
            new PerlProcess(info.Pid, info.StartTime, mapping.Path, version[0], subversion[0], layout, symbols["PL_curinterp"].Value + bias, tls,
                runops.Value + bias, runops.Value + bias + Math.Max(runops.Size, 1)),
            null, mapping.Path, null);
    }

    private static byte[]? Byte(ElfFile elf, Microsoft.Win32.SafeHandles.SafeFileHandle handle, Dictionary<string, (ulong Value, ulong Size)> symbols, string name) =>
        symbols.TryGetValue(name, out var s) ? ElfNamedSymbols.ReadAt(elf, handle, s.Value, 1) : null;
}
