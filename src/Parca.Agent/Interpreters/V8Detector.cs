using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Parca.Agent.Interop;
using Parca.Agent.Processes;

namespace Parca.Agent.Interpreters;

/// <summary>A recognised V8 (Node.js) process: its layout and where the embedded builtins' code lies.</summary>
internal sealed record V8Process(int Pid, ulong StartTime, string Path, string Version, V8Layout Layout, ulong CodeStart, ulong CodeEnd)
    : IInterpreterProcess
{
    public int Language => InterpreterFrames.V8;

    /// <summary>Never: a JavaScript frame takes the place of the one native frame the walker found it in (<see cref="Replaces"/>).</summary>
    public bool IsEvalFrame(ulong pc) => false;

    public bool Replaces(int nativeIndex, ulong pc, ulong tag) => InterpreterFrames.NativeIndex(tag) == nativeIndex;
}

/// <summary>What V8 detection found in a process.</summary>
internal readonly record struct V8Detection(V8Process? Process, string? UnsupportedVersion, string? Path, string? Problem);

/// <summary>
/// Recognises V8 from a process's executable mappings: the file named <c>node</c>, <c>nodejs</c> or
/// <c>libnode.so*</c> that defines V8's post-mortem constants (<c>v8dbg_*</c>). Their values, and V8's version
/// (<c>v8::internal::Version::major_</c>, <c>minor_</c>), are read from the process's memory, not the file: about a
/// third of the constants live in .bss and are set by a static initializer. Accepted: V8 11 (node 20) without pointer
/// compression (<c>v8dbg_SmiShiftSize</c> 31, how node builds it); anything else is logged once and profiled natively.
/// </summary>
internal static partial class V8Detector
{
    private const string Major = "_ZN2v88internal7Version6major_E";
    private const string Minor = "_ZN2v88internal7Version6minor_E";
    private const string SmiShiftSize = "v8dbg_SmiShiftSize";
    private const string BlobCode = "v8_Default_embedded_blob_code_";
    private const string BlobCodeSize = "v8_Default_embedded_blob_code_size_";

    [GeneratedRegex(@"^(?:node|nodejs|libnode\.so(?:\.[\d.]+)?)$")]
    private static partial Regex FileName();

    public static V8Detection Detect(ProcessInfo info, Func<MemoryMapping, ObjectFile?> open) =>
        InterpreterFiles.FirstDetection(info, open, m => FileName().IsMatch(System.IO.Path.GetFileName(m.Path)), (mapping, file) => Examine(info, mapping, file));

    private static V8Detection? Examine(ProcessInfo info, MemoryMapping mapping, ObjectFile file)
    {
        if (file.Elf is not { } elf || file.Handle is not { } handle)
        {
            return null;
        }

        Dictionary<string, (ulong Value, ulong Size)> symbols;
        try
        {
            symbols = ElfNamedSymbols.Find(elf, handle, [.. V8Layout.Symbols, Major, Minor, SmiShiftSize, BlobCode, BlobCodeSize]);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            return new V8Detection(null, null, mapping.Path, e.Message);
        }

        if (!symbols.ContainsKey(Major) || !symbols.ContainsKey("v8dbg_off_fp_function"))
        {
            return null; // not V8, or a V8 built without its post-mortem metadata
        }

        if (!elf.TryFileOffsetToAddress(mapping.Offset, out var mappedAddress))
        {
            return new V8Detection(null, null, mapping.Path, $"mapping offset {mapping.Offset:x} is outside the file's loadable segments");
        }

        var bias = mapping.Start - mappedAddress;
        if (ReadInt(info.Pid, symbols, Major, bias) is not { } major || ReadInt(info.Pid, symbols, Minor, bias) is not { } minor)
        {
            return new V8Detection(null, null, mapping.Path, "could not read V8's version from the process");
        }

        var version = $"{major}.{minor}";
        if (major != 11 || ReadInt(info.Pid, symbols, SmiShiftSize, bias) != 31)
        {
            return new V8Detection(null, major != 11 ? version : version + " with pointer compression", mapping.Path, null);
        }

        var values = new int[V8Layout.Symbols.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (ReadInt(info.Pid, symbols, V8Layout.Symbols[i], bias) is not { } value)
            {
                return new V8Detection(null, null, mapping.Path, $"{V8Layout.Symbols[i]} is missing or unreadable");
            }

            values[i] = value;
        }

        var layout = V8Layout.From(values);
        if (layout.FpContext != layout.FpFunction + 8)
        {
            return new V8Detection(null, null, mapping.Path, $"frame layout not walkable: function at fp{layout.FpFunction}, context at fp{layout.FpContext}");
        }

        ulong codeStart = 0, codeEnd = 0;
        if (symbols.TryGetValue(BlobCode, out var blob) && ReadInt(info.Pid, symbols, BlobCodeSize, bias) is > 0 and var size)
        {
            codeStart = blob.Value + bias;
            codeEnd = codeStart + (ulong)size;
        }

        return new V8Detection(new V8Process(info.Pid, info.StartTime, mapping.Path, version, layout, codeStart, codeEnd), null, mapping.Path, null);
    }

    /// <summary>A 32-bit constant at the symbol's address in the process (its value as the running program has it).</summary>
    private static int? ReadInt(int pid, Dictionary<string, (ulong Value, ulong Size)> symbols, string name, ulong bias)
    {
        Span<byte> value = stackalloc byte[4];
        return symbols.TryGetValue(name, out var symbol) && Libc.ReadProcessMemory(pid, symbol.Value + bias, value)
            ? BinaryPrimitives.ReadInt32LittleEndian(value)
            : null;
    }
}
