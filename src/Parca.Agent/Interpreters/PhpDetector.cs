using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using Parca.Agent.Processes;
using Parca.Symbols.Elf;

namespace Parca.Agent.Interpreters;

/// <summary>
/// A recognised PHP process: where its executor globals and VM loop are. A thread-safe (ZTS) build has
/// <see cref="ExecutorGlobals"/> 0 and instead <see cref="TlsOffset"/> (where each thread's <c>_tsrm_ls_cache</c> lies
/// from its fs base) and <see cref="ExecutorGlobalsOffset"/> (the address of <c>executor_globals_offset</c>).
/// </summary>
internal sealed record PhpProcess(int Pid, ulong StartTime, string Path, string Version, PhpLayout Layout, ulong ExecutorGlobals, ulong ExecStart, ulong ExecEnd,
    long TlsOffset = 0, ulong ExecutorGlobalsOffset = 0)
    : IInterpreterProcess
{
    public int Language => InterpreterFrames.Php;

    /// <summary>True for a thread-safe (ZTS) build.</summary>
    public bool ThreadSafe => TlsOffset != 0;

    /// <summary>True for a pc inside execute_ex, the native call of the VM whose place the PHP frames it ran take.</summary>
    public bool IsEvalFrame(ulong pc) => pc >= ExecStart && pc < ExecEnd;
}

/// <summary>What PHP detection found in a process.</summary>
internal readonly record struct PhpDetection(PhpProcess? Process, string? UnsupportedVersion, string? Path, string? Problem);

/// <summary>
/// Recognises PHP from a process's executable mappings: the file named <c>php</c>, <c>phpX.Y</c> or
/// <c>libphp*.so</c> that defines <c>execute_ex</c> and the global <c>executor_globals</c>. A thread-safe (ZTS)
/// build has <c>executor_globals_offset</c> instead: each thread's executor globals are at that offset in its TSRM
/// block, whose address the thread-local <c>_tsrm_ls_cache</c> holds. That variable is found at a fixed distance
/// from the fs base when it is in the executable (whose TLS block is the first static one, x86-64 glibc TLS variant
/// II); a ZTS <c>libphp.so</c> (mod_php, FrankenPHP, embed) is loaded with a TLS block only the dynamic loader
/// places: reported and profiled natively. The version is the one the binary announces in its <c>X-Powered-By: PHP/</c> header string
/// (PHP exports no version symbol), read from .rodata once per process.
/// </summary>
internal static partial class PhpDetector
{
    private const int Chunk = 1 << 20;
    private static readonly byte[] s_poweredBy = "X-Powered-By: PHP/"u8.ToArray();

    [GeneratedRegex(@"^(?:php[\d.]*|libphp[\d.]*\.so(?:\.[\d.]+)?)$")]
    private static partial Regex FileName();

    public static PhpDetection Detect(ProcessInfo info, Func<MemoryMapping, ObjectFile?> open) =>
        InterpreterFiles.FirstDetection(info, open, m => FileName().IsMatch(System.IO.Path.GetFileName(m.Path)), (mapping, file) => Examine(info, mapping, file));

    private static PhpDetection? Examine(ProcessInfo info, MemoryMapping mapping, ObjectFile file)
    {
        if (file.Elf is not { } elf || file.Handle is not { } handle)
        {
            return null;
        }

        Dictionary<string, (ulong Value, ulong Size)> symbols;
        string? version;
        long tls = 0;
        try
        {
            symbols = ElfNamedSymbols.Find(elf, handle, "executor_globals", "executor_globals_offset", "tsrm_get_ls_cache_tcb_offset", "_tsrm_ls_cache", "execute_ex");
            if (!symbols.TryGetValue("execute_ex", out _))
            {
                return null; // not the Zend VM
            }

            if (!symbols.ContainsKey("executor_globals"))
            {
                if (!symbols.ContainsKey("executor_globals_offset"))
                {
                    return null;
                }

                if (ThreadSafeProblem(info, mapping, elf, handle, symbols, out tls) is { } problem)
                {
                    return new PhpDetection(null, null, mapping.Path, problem);
                }
            }

            version = ReadVersion(elf, handle);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            return new PhpDetection(null, null, mapping.Path, e.Message);
        }

        if (version is null || PhpLayouts.For(version) is not { } layout)
        {
            return new PhpDetection(null, version ?? "?", mapping.Path, null);
        }

        if (!elf.TryFileOffsetToAddress(mapping.Offset, out var mappedAddress))
        {
            return new PhpDetection(null, null, mapping.Path, $"mapping offset {mapping.Offset:x} is outside the file's loadable segments");
        }

        var bias = mapping.Start - mappedAddress;
        var exec = symbols["execute_ex"];
        var globals = tls == 0 ? symbols["executor_globals"].Value + bias : 0;
        var globalsOffset = tls == 0 ? 0 : symbols["executor_globals_offset"].Value + bias;
        return new PhpDetection(
            new PhpProcess(info.Pid, info.StartTime, mapping.Path, version, layout, globals, exec.Value + bias, exec.Value + bias + Math.Max(exec.Size, 1), tls, globalsOffset),
            null, mapping.Path, null);
    }

    /// <summary>Why a ZTS build cannot be walked (null: it can, <paramref name="tls"/> is _tsrm_ls_cache's fs-base offset).</summary>
    private static string? ThreadSafeProblem(ProcessInfo info, MemoryMapping mapping, ElfFile elf, SafeFileHandle handle, Dictionary<string, (ulong Value, ulong Size)> symbols, out long tls)
    {
        tls = 0;
        if (mapping.Path != info.ExecutablePath)
        {
            return "a thread-safe (ZTS) libphp keeps its thread-local TSRM cache at an offset only the dynamic loader knows; not walked";
        }

        // The exported function that gives opcache's JIT the same offset survives stripping (_tsrm_ls_cache is a
        // local symbol, in .symtab only); the symbol is the fallback for a build whose function is not the one
        // instruction the linker makes of it in an executable.
        if (symbols.TryGetValue("tsrm_get_ls_cache_tcb_offset", out var function)
            && ElfNamedSymbols.ReadAt(elf, handle, function.Value, 7) is { } code && TcbOffsetImmediate(code) is { } immediate)
        {
            tls = immediate;
            return null;
        }

        if (!symbols.TryGetValue("_tsrm_ls_cache", out var cache))
        {
            return "a thread-safe (ZTS) PHP build without the _tsrm_ls_cache symbol or a readable tsrm_get_ls_cache_tcb_offset; not walked";
        }

        tls = InterpreterFiles.StaticTlsOffset(elf, cache.Value);
        return tls == 0 ? "a thread-safe (ZTS) PHP build with no thread-local block (PT_TLS); not walked" : null;
    }

    /// <summary>
    /// The offset tsrm_get_ls_cache_tcb_offset returns when its code is <c>mov $imm32, %rax</c> (48 c7 c0 imm32: the
    /// linker's local-exec form of the initial-exec TLS access, in an executable), or null. A thread-pointer offset
    /// below the pointer (TLS variant II) is negative; anything else is not what this function returns.
    /// </summary>
    internal static long? TcbOffsetImmediate(ReadOnlySpan<byte> code)
    {
        if (code.Length < 7 || code[0] != 0x48 || code[1] != 0xc7 || code[2] != 0xc0)
        {
            return null;
        }

        long value = BinaryPrimitives.ReadInt32LittleEndian(code[3..]);
        return value < 0 ? value : null;
    }

    /// <summary>The version after "X-Powered-By: PHP/" in .rodata ("8.2.36"), or null.</summary>
    internal static string? ReadVersion(ElfFile elf, SafeFileHandle handle)
    {
        var rodata = elf.Sections.FirstOrDefault(s => s.Name == ".rodata");
        if (rodata is null)
        {
            return null;
        }

        var buffer = new byte[Chunk + 64];
        for (ulong at = 0; at < rodata.Size; at += Chunk)
        {
            // each read overlaps the next chunk by 64 bytes so that the string is found across a boundary
            var length = (int)Math.Min((ulong)buffer.Length, rodata.Size - at);
            var read = RandomAccess.Read(handle, buffer.AsSpan(0, length), (long)(rodata.Offset + at));
            var span = buffer.AsSpan(0, read);
            var found = span.IndexOf(s_poweredBy);
            if (found < 0)
            {
                continue;
            }

            var rest = span[(found + s_poweredBy.Length)..];
            var end = rest.IndexOf((byte)0);
            return end <= 0 ? null : Encoding.ASCII.GetString(rest[..Math.Min(end, 32)]);
        }

        return null;
    }
}
