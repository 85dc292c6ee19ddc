using System.Text;
using System.Text.RegularExpressions;
using Parca.Agent.Processes;

namespace Parca.Agent.Interpreters;

/// <summary>A recognised Ruby process: where its thread-local execution context and VM loop are.</summary>
internal sealed record RubyProcess(int Pid, ulong StartTime, string Path, string Version, RubyLayout Layout, long TlsOffset, ulong ExecStart, ulong ExecEnd)
    : IInterpreterProcess
{
    public int Language => InterpreterFrames.Ruby;

    /// <summary>True for a pc inside rb_vm_exec, the native call of the VM loop whose place the Ruby frames it ran take.</summary>
    public bool IsEvalFrame(ulong pc) => pc >= ExecStart && pc < ExecEnd;
}

/// <summary>What Ruby detection found in a process.</summary>
internal readonly record struct RubyDetection(RubyProcess? Process, string? UnsupportedVersion, string? Path, string? Problem);

/// <summary>
/// Recognises Ruby (MRI) from a process's executable mappings: a file named <c>libruby*.so*</c> or <c>ruby*</c> that
/// defines the thread-local <c>ruby_current_ec</c>, <c>rb_vm_exec</c> and <c>ruby_version</c> (the version string the
/// library was built as). The walker reads each thread's execution context at fs base + a fixed offset: libruby is
/// loaded at start-up as the executable's dependency, so its TLS block is static. With an executable that has no TLS
/// block of its own (Debian's ruby3.1), libruby's is the first one, right below the thread pointer (x86-64 glibc,
/// TLS variant II; <see cref="InterpreterFiles.StaticTlsOffset"/>). An executable with its own TLS block puts libruby's at an
/// offset only the dynamic loader knows: such a process is reported and profiled natively.
/// </summary>
internal static partial class RubyDetector
{
    [GeneratedRegex(@"^(?:ruby[\d.]*|libruby[-\d.]*\.so(?:\.[\d.]+)?)$")]
    private static partial Regex FileName();

    public static RubyDetection Detect(ProcessInfo info, Func<MemoryMapping, ObjectFile?> open) =>
        InterpreterFiles.FirstDetection(info, open, m => FileName().IsMatch(System.IO.Path.GetFileName(m.Path)),
            (mapping, file) => Examine(info, mapping, file, mapping.Path == info.ExecutablePath, open));

    /// <summary>What <paramref name="file"/> (mapped by <paramref name="mapping"/>) says; null when it is no Ruby.</summary>
    private static RubyDetection? Examine(ProcessInfo info, MemoryMapping mapping, ObjectFile file, bool isExecutable, Func<MemoryMapping, ObjectFile?> open)
    {
        if (file.Elf is not { } elf || file.Handle is not { } handle)
        {
            return null;
        }

        Dictionary<string, (ulong Value, ulong Size)> symbols;
        byte[]? versionBytes;
        try
        {
            symbols = ElfNamedSymbols.Find(elf, handle, "ruby_current_ec", "rb_vm_exec", "ruby_version");
            if (!symbols.TryGetValue("ruby_current_ec", out _) || !symbols.TryGetValue("rb_vm_exec", out _))
            {
                return null; // not a Ruby VM (a ruby-named script runner, or Ruby older than the thread-local context)
            }

            versionBytes = symbols.TryGetValue("ruby_version", out var v) ? ElfNamedSymbols.ReadAt(elf, handle, v.Value, (int)Math.Clamp(v.Size, 1, 32)) : null;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            return new RubyDetection(null, null, mapping.Path, e.Message);
        }

        var version = versionBytes is null ? "?" : Encoding.ASCII.GetString(versionBytes).TrimEnd('\0');
        if (RubyLayouts.For(version) is not { } layout)
        {
            return new RubyDetection(null, version, mapping.Path, null);
        }

        if (!elf.TryFileOffsetToAddress(mapping.Offset, out var mappedAddress))
        {
            return new RubyDetection(null, null, mapping.Path, $"mapping offset {mapping.Offset:x} is outside the file's loadable segments");
        }

        if (!isExecutable)
        {
            var exeTls = ExecutableHasTls(info, open);
            if (exeTls != false)
            {
                return new RubyDetection(null, null, mapping.Path, exeTls is null
                    ? "the executable could not be read to place libruby's thread-local block"
                    : "the executable has its own thread-local block, so libruby's thread-local offset is not known");
            }
        }

        var tls = InterpreterFiles.StaticTlsOffset(elf, symbols["ruby_current_ec"].Value);
        if (tls == 0)
        {
            return new RubyDetection(null, null, mapping.Path, "the file has no thread-local block (PT_TLS)");
        }

        var bias = mapping.Start - mappedAddress;
        var exec = symbols["rb_vm_exec"];
        return new RubyDetection(
            new RubyProcess(info.Pid, info.StartTime, mapping.Path, version, layout, tls, exec.Value + bias, exec.Value + bias + Math.Max(exec.Size, 1)),
            null, mapping.Path, null);
    }

    /// <summary>Whether the process's executable has a PT_TLS segment (null: it could not be read).</summary>
    private static bool? ExecutableHasTls(ProcessInfo info, Func<MemoryMapping, ObjectFile?> open)
    {
        var exe = info.Mappings.FirstOrDefault(m => m.Kind == MappingKind.File && m.Path == info.ExecutablePath);
        if (exe is null)
        {
            return null;
        }

        return ObjectFileLease.Use(() => open(exe), f => f.Elf is { } e ? InterpreterFiles.HasTls(e) : (bool?)null, null);
    }
}
