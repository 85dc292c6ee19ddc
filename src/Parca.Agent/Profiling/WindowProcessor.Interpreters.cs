using Parca.Agent.Interpreters;
using Parca.Agent.Processes;
using Parca.Agent.Shipping.Arrow;

namespace Parca.Agent.Profiling;

/// <summary>
/// Interpreted frames in profiles: each native frame of the interpreter loop (_PyEval_EvalFrameDefault,
/// Perl_runops_standard, rb_vm_exec, execute_ex; for V8 the native frame each JavaScript frame was found in) is replaced
/// by the interpreted frames that call of the loop was running (from the leaf-most frame to the one marked
/// entry), so native code called from Python (a C extension) stays below its Python caller and native code
/// calling into Python stays above its callee. Runs the native walk did not reach (it was cut short) follow the
/// outermost native frame. An interpreted frame's location has the language's mapping ("[python]", "[perl]", "[ruby]", "[php]"), the
/// function's qualified name, file and first line as its function, and the line of the executing instruction.
/// </summary>
internal sealed partial class WindowProcessor
{
    /// <summary>Interpreter support (null: none; interpreted frames are then dropped).</summary>
    internal InterpreterManager? Interpreters { get; set; }

    private void AddUserLocations(Group group, ProcessInfo? process, int pid, ReadOnlySpan<ulong> user, bool kernelEmpty, List<ulong> locationIds)
    {
        var native = InterpreterFrames.NativeLength(user);
        var interpreter = native < user.Length ? Interpreters?.Process(pid) : null;
        var frames = user[native..];
        var next = 0;
        for (var u = 0; u < native; u++)
        {
            if (interpreter is not null && next < frames.Length && interpreter.Replaces(u, user[u], frames[next]))
            {
                if (interpreter is V8Process && Interpreters!.Symbols.V8Inlining is { } inlining)
                {
                    // the functions the optimizing compiler inlined into this frame's function, innermost first
                    foreach (var shared in inlining.Get(pid, InterpreterFrames.V8LookupPc(user, u)))
                    {
                        locationIds.Add(InterpretedLocation(group, interpreter, frames[next], shared));
                    }
                }

                next = AddRun(group, interpreter, frames, next, locationIds);
                continue;
            }

            if (Runtimes.Java.HotSpotInterpreter.IsFrameWord(user[u]))
            {
                locationIds.Add(JavaLocation(group, process, pid, user[u]));
                continue;
            }

            // The first user frame is the interrupted pc only when the sample did not start in the kernel.
            locationIds.Add(UserLocation(group, process, pid, user[u], leaf: u == 0 && kernelEmpty));
        }

        while (interpreter is not null && next + 1 < frames.Length)
        {
            next = AddRun(group, interpreter, frames, next, locationIds);
        }
    }

    /// <summary>Adds the interpreted frames from <paramref name="next"/> through the next entry frame; returns the index after it.</summary>
    private int AddRun(Group group, IInterpreterProcess interpreter, ReadOnlySpan<ulong> frames, int next, List<ulong> locationIds)
    {
        while (next + 1 < frames.Length)
        {
            var tag = frames[next];
            locationIds.Add(InterpretedLocation(group, interpreter, tag, frames[next + 1]));
            next += 2;
            if (InterpreterFrames.IsEntry(tag))
            {
                break;
            }
        }

        return next;
    }

    private ulong InterpretedLocation(Group g, IInterpreterProcess process, ulong tag, ulong address)
    {
        var fingerprint = InterpreterFrames.CacheFingerprint(tag);
        var code = Interpreters!.Symbols.Get(new CodeKey(process.Pid, address, fingerprint));
        var line = code?.LineOf(tag) ?? 0;
        var key = (process.Pid, address, fingerprint, line);
        if (g.InterpreterLocations.TryGetValue(key, out var id))
        {
            return id;
        }

        var language = InterpreterFrames.Language(tag);
        var mappingFile = InterpreterFrames.MappingFile(language);
        if (!g.InterpreterMappings.TryGetValue(language, out var mapping))
        {
            mapping = g.Builder.AddMapping(0, 0, 0, mappingFile, null, hasFunctions: true);
            g.InterpreterMappings[language] = mapping;
            g.Executables.Add(default);
        }

        var unknown = language switch
        {
            InterpreterFrames.Perl => "<unknown perl sub>",
            InterpreterFrames.Ruby => "<unknown ruby iseq>",
            InterpreterFrames.Php => "<unknown php function>",
            InterpreterFrames.V8 => "<unknown javascript function>",
            _ => "<unknown python code>",
        };
        var function = code is null
            ? g.Builder.Function(unknown, "", 0)
            : g.Builder.Function(code.Name, code.File, code.FirstLine);
        id = g.Builder.AddLocation(mapping, 0, function, line);
        g.InterpreterLocations[key] = id;
        g.Frames.Add(new Frame(0, InterpreterFrames.FrameType(mappingFile), mappingFile, null,
            code is null ? [new FrameLine(unknown)] : [new FrameLine(code.Name, code.File, (ulong)Math.Max(0, line), (ulong)Math.Max(0, code.FirstLine))]));
        return id;
    }
}
