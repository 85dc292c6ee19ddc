using Parca.Agent.Processes;
using Parca.Agent.Runtimes.Java;
using Parca.Agent.Shipping.Arrow;

namespace Parca.Agent.Profiling;

/// <summary>
/// Interpreted Java frames in profiles (<see cref="HotSpotInterpreter"/>): the word the BPF walk put in place of an
/// interpreter frame's pc becomes a location in the "[java]" mapping named <c>package.Class.method(params)</c> with
/// the method's source file and the line of the bytecode it ran; one that cannot be read stays "Interpreter", as the
/// perf map names the interpreter blob.
/// </summary>
internal sealed partial class WindowProcessor
{
    private const string JavaMapping = "[java]";

    /// <summary>Interpreted Java frames are named (null: without unwind tables or with --java-perf-map-disable).</summary>
    public HotSpotInterpreter? JavaInterpreter { get; set; }

    private ulong JavaLocation(Group g, ProcessInfo? process, int pid, ulong word)
    {
        var method = JavaInterpreter?.Resolve(process, pid, word);
        var line = method?.LineOf(HotSpotInterpreter.BcpLowOf(word)) ?? 0;
        var key = (pid, method is null ? 0 : HotSpotInterpreter.MethodOf(word), line);
        if (g.JavaLocations.TryGetValue(key, out var id))
        {
            return id;
        }

        if (!g.InterpreterMappings.TryGetValue(HotSpotInterpreter.MappingKey, out var mapping))
        {
            mapping = g.Builder.AddMapping(0, 0, 0, JavaMapping, null, hasFunctions: true);
            g.InterpreterMappings[HotSpotInterpreter.MappingKey] = mapping;
            g.Executables.Add(default);
        }

        var name = method?.Name ?? "Interpreter";
        var function = g.Builder.Function(name, method?.File ?? "", 0);
        id = g.Builder.AddLocation(mapping, 0, function, line);
        g.JavaLocations[key] = id;
        g.Frames.Add(new Frame(0, "jvm", JavaMapping, null, [new FrameLine(name, method?.File, (ulong)Math.Max(0, line), 0)]));
        return id;
    }
}
