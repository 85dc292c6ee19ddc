using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using Parca.Agent.Processes;
using Parca.Symbols.Elf;

namespace Parca.Agent.Interpreters;

/// <summary>A recognised PHP process: where its executor globals and VM loop are.</summary>
internal sealed record PhpProcess(int Pid, ulong StartTime, string Path, string Version, PhpLayout Layout, ulong ExecutorGlobals, ulong ExecStart, ulong ExecEnd)
    : IInterpreterProcess
{
    public int Language => InterpreterFrames.Php;

    /// <summary>True for a pc inside execute_ex, the native call of the VM whose place the PHP frames it ran take.</summary>
    public bool IsEvalFrame(ulong pc) => pc >= ExecStart && pc < ExecEnd;
}

/// <summary>What PHP detection found in a process.</summary>
internal readonly record struct PhpDetection(PhpProcess? Process, string? UnsupportedVersion, string? Path, string? Problem);

/// <summary>
/// Recognises PHP from a process's executable mappings: the file named <c>php</c>, <c>phpX.Y</c> or
/// <c>libphp*.so</c> that defines <c>execute_ex</c> and the global
/// <c>executor_globals</c> (a thread-safe, ZTS, build has <c>executor_globals_offset</c> instead: reported and
/// profiled natively). The version is the one the binary announces in its <c>X-Powered-By: PHP/</c> header string
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
        try
        {
            symbols = ElfNamedSymbols.Find(elf, handle, "executor_globals", "executor_globals_offset", "execute_ex");
            if (!symbols.TryGetValue("execute_ex", out _))
            {
                return null; // not the Zend VM
            }

            if (!symbols.ContainsKey("executor_globals"))
            {
                return symbols.ContainsKey("executor_globals_offset") ? new PhpDetection(null, null, mapping.Path, "a thread-safe (ZTS) PHP build keeps its executor globals per thread; not walked") : null;
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
        return new PhpDetection(
            new PhpProcess(info.Pid, info.StartTime, mapping.Path, version, layout, symbols["executor_globals"].Value + bias, exec.Value + bias, exec.Value + bias + Math.Max(exec.Size, 1)),
            null, mapping.Path, null);
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
