namespace Parca.Agent.Interpreters;

/// <summary>A process whose interpreted frames the BPF walker reads (a recognised interpreter of a known version).</summary>
internal interface IInterpreterProcess
{
    int Pid { get; }

    /// <summary>/proc/PID/stat start time at detection: tells a reused PID apart.</summary>
    ulong StartTime { get; }

    /// <summary><see cref="InterpreterFrames.Python"/>, <see cref="InterpreterFrames.Perl"/>, <see cref="InterpreterFrames.Ruby"/> or <see cref="InterpreterFrames.Php"/>.</summary>
    int Language { get; }

    /// <summary>True for a pc inside the interpreter loop whose native frames the interpreted frames replace.</summary>
    bool IsEvalFrame(ulong pc);

    /// <summary>
    /// True when the next interpreted frames (from the one tagged <paramref name="tag"/>) take the place of native
    /// frame <paramref name="nativeIndex"/> at <paramref name="pc"/>: the interpreter loop's frames, or for V8 the one
    /// frame the walker found the JavaScript function in.
    /// </summary>
    bool Replaces(int nativeIndex, ulong pc, ulong tag) => IsEvalFrame(pc);
}
