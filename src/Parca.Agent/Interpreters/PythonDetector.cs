using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Parca.Agent.Processes;

namespace Parca.Agent.Interpreters;

/// <summary>A recognised CPython process: where its runtime state and interpreter loop are.</summary>
internal sealed record PythonProcess(int Pid, ulong StartTime, string Path, int Minor, int Micro, PythonLayout Layout, ulong Runtime, ulong EvalStart, ulong EvalEnd)
    : IInterpreterProcess
{
    public string Version => $"3.{Minor}.{Micro}";

    public int Language => InterpreterFrames.Python;

    /// <summary>True for a pc inside _PyEval_EvalFrameDefault, the loop whose native frames the Python frames replace.</summary>
    public bool IsEvalFrame(ulong pc) => pc >= EvalStart && pc < EvalEnd;
}

/// <summary>What detection found in a process.</summary>
internal readonly record struct PythonDetection(PythonProcess? Process, string? UnsupportedVersion, string? Path, string? Problem);

/// <summary>
/// Recognises CPython from a process's executable mappings: the file named <c>python3.X</c> or <c>libpython3.X.so</c>
/// (or the executable itself when it defines <c>_PyRuntime</c>), its version from <c>Py_Version</c> (3.11+, the
/// PY_VERSION_HEX the binary was built with) or else its file name, and the run-time addresses of
/// <c>_PyRuntime</c> and <c>_PyEval_EvalFrameDefault</c> (symbol value + the mapping's load bias).
/// </summary>
internal static partial class PythonDetector
{
    [GeneratedRegex(@"^(?:lib)?python3\.(\d+)")]
    private static partial Regex FileName();

    public static PythonDetection Detect(ProcessInfo info, Func<MemoryMapping, ObjectFile?> open) =>
        InterpreterFiles.FirstDetection(info, open,
            m => FileName().IsMatch(System.IO.Path.GetFileName(m.Path)) || m.Path == info.ExecutablePath,
            (mapping, file) => Examine(info, mapping, file, FileName().Match(System.IO.Path.GetFileName(mapping.Path))));

    /// <summary>What <paramref name="file"/> (mapped by <paramref name="mapping"/>) says; null when it is no CPython.</summary>
    private static PythonDetection? Examine(ProcessInfo info, MemoryMapping mapping, ObjectFile file, Match byName)
    {
        if (file.Elf is not { } elf || file.Handle is not { } handle)
        {
            return null;
        }

        Dictionary<string, (ulong Value, ulong Size)> symbols;
        try
        {
            symbols = ElfNamedSymbols.Find(elf, handle, "_PyRuntime", "Py_Version", "_PyEval_EvalFrameDefault");
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ObjectDisposedException)
        {
            return new PythonDetection(null, null, mapping.Path, e.Message);
        }

        if (!symbols.TryGetValue("_PyRuntime", out var runtime) || !symbols.TryGetValue("_PyEval_EvalFrameDefault", out var eval))
        {
            return null; // not an interpreter (a python3.X-named helper, or an executable embedding nothing)
        }

        int minor, micro = 0;
        if (symbols.TryGetValue("Py_Version", out var version) && ElfNamedSymbols.ReadAt(elf, handle, version.Value, 4) is { } bytes)
        {
            var hex = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
            minor = (int)((hex >> 16) & 0xff);
            micro = (int)((hex >> 8) & 0xff);
            if (hex >> 24 != 3)
            {
                return new PythonDetection(null, $"{hex >> 24}.{minor}.{micro}", mapping.Path, null);
            }
        }
        else if (byName.Success)
        {
            minor = int.Parse(byName.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            return new PythonDetection(null, "3.?", mapping.Path, null);
        }

        if (PythonLayouts.ForMinor(minor) is not { } layout)
        {
            return new PythonDetection(null, $"3.{minor}.{micro}", mapping.Path, null);
        }

        if (!elf.TryFileOffsetToAddress(mapping.Offset, out var mappedAddress))
        {
            return new PythonDetection(null, null, mapping.Path, $"mapping offset {mapping.Offset:x} is outside the file's loadable segments");
        }

        var bias = mapping.Start - mappedAddress;
        var evalStart = eval.Value + bias;
        return new PythonDetection(
            new PythonProcess(info.Pid, info.StartTime, mapping.Path, minor, micro, layout, runtime.Value + bias, evalStart, evalStart + Math.Max(eval.Size, 1)),
            null, mapping.Path, null);
    }
}
