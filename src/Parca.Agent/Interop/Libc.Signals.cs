using System.Runtime.InteropServices;

namespace Parca.Agent.Interop;

internal static partial class Libc
{
    public const int SigQuit = 3;

    /// <summary>kill(2): the JVM's attach listener starts on SIGQUIT when its trigger file exists.</summary>
    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
