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
}
