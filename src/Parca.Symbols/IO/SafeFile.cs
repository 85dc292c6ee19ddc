using Microsoft.Win32.SafeHandles;

namespace Parca.Symbols.IO;

/// <summary>
/// Where symbolization opens files named by a profiled process or a debug directory (debug files, .gnu_debuglink
/// targets): <see cref="SafeOpen.OpenInRoot"/> resolves the path inside <c>root</c> (for example /proc/PID/root)
/// with symbolic links followed as if <c>root</c> were "/", so a link cannot lead out of the process's file system;
/// only regular files no larger than a cap are returned (a FIFO would block the agent, a device could be endless).
/// </summary>
internal static class SafeFile
{
    /// <summary>
    /// Opens <paramref name="path"/> (absolute, as the process sees it) inside <paramref name="root"/> ("/" for the
    /// agent's own view). Returns null and a reason when it does not exist, is not a regular file, is larger than
    /// <paramref name="maxBytes"/>, or its links loop.
    /// </summary>
    public static SafeFileHandle? TryOpen(string root, string path, long maxBytes, out string? problem)
    {
        var refusal = SafeOpen.OpenDirectory(root, out var directory, out var errno);
        SafeFileHandle? handle = null;
        FileSyscalls.Stat stat = default;
        if (refusal == FileRefusal.None)
        {
            using (directory)
            {
                refusal = SafeOpen.OpenInRoot(directory!, root.TrimEnd('/').Length == 0, path, out handle, out stat, out errno);
            }
        }

        problem = refusal switch
        {
            FileRefusal.None when stat.Size > maxBytes => $"{path}: {stat.Size} bytes exceeds the {maxBytes} byte limit",
            FileRefusal.None => null,
            FileRefusal.NotRegular => $"{path}: not a regular file",
            _ when errno == SafeOpen.ELOOP => $"{path}: too many symbolic links",
            _ when errno == SafeOpen.ENOTDIR => $"{path}: a path component is not a directory",
            _ when errno is SafeOpen.ENOENT or SafeOpen.ESRCH => $"{path}: does not exist",
            _ when errno == SafeOpen.ENOSYS => $"{path}: cannot be opened inside {root} on a kernel without openat2 (Linux 5.6+)",
            _ => $"{path}: cannot be opened (errno {errno})",
        };
        if (problem is not null)
        {
            handle?.Dispose();
            return null;
        }

        return handle;
    }
}
