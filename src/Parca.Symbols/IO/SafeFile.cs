using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Parca.Symbols.IO;

/// <summary>
/// The one place where symbolization opens files named by a profiled process or a debug directory (debug files,
/// .gnu_debuglink targets). A path is resolved component by component inside <c>root</c> (for example
/// /proc/PID/root): symbolic links are followed as if <c>root</c> were "/", so a link cannot lead out of the
/// process's file system; only regular files no larger than a cap are opened (a FIFO would block the agent, a
/// device could be endless). When the shared safe-open helper lands, this class delegates to it.
/// </summary>
internal static partial class SafeFile
{
    private const int MaxLinks = 40; // as the kernel's path walk (ELOOP)
    private const uint TypeMask = 0xf000;
    private const uint RegularFile = 0x8000;
    private const uint SymbolicLink = 0xa000;
    private const uint Directory = 0x4000;

    /// <summary>
    /// Opens <paramref name="path"/> (absolute, as the process sees it) inside <paramref name="root"/> ("/" for the
    /// agent's own view). Returns null and a reason when it does not exist, is not a regular file, is larger than
    /// <paramref name="maxBytes"/>, or its links loop or climb out.
    /// </summary>
    public static SafeFileHandle? TryOpen(string root, string path, long maxBytes, out string? problem)
    {
        if (!TryResolve(root, path, out var resolved, out problem))
        {
            return null;
        }

        if (!TryStat(resolved, out var mode, out var size) || (mode & TypeMask) != RegularFile)
        {
            problem = $"{path}: not a regular file";
            return null;
        }

        if (size > maxBytes)
        {
            problem = $"{path}: {size} bytes exceeds the {maxBytes} byte limit";
            return null;
        }

        try
        {
            var handle = File.OpenHandle(resolved, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (RandomAccess.GetLength(handle) > maxBytes)
            {
                handle.Dispose(); // replaced between the check and the open
                problem = $"{path}: larger than the {maxBytes} byte limit";
                return null;
            }

            return handle;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"{path}: {e.Message}";
            return null;
        }
    }

    /// <summary>Resolves every symbolic link of <paramref name="path"/> relative to <paramref name="root"/>; the result starts with root.</summary>
    internal static bool TryResolve(string root, string path, out string resolved, out string? problem)
    {
        root = root.TrimEnd('/');
        var pending = new Stack<string>();
        PushComponents(pending, path);
        var current = new List<string>();
        var links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (current.Count > 0)
                {
                    current.RemoveAt(current.Count - 1); // ".." at the root stays at the root, as in a chroot
                }

                continue;
            }

            var candidate = root + "/" + string.Join('/', current) + (current.Count > 0 ? "/" : "") + part;
            if (!TryStat(candidate, out var mode, out _, follow: false))
            {
                resolved = "";
                problem = $"{path}: does not exist";
                return false;
            }

            if ((mode & TypeMask) == SymbolicLink)
            {
                if (++links > MaxLinks)
                {
                    resolved = "";
                    problem = $"{path}: too many symbolic links";
                    return false;
                }

                var target = new FileInfo(candidate).LinkTarget ?? "";
                if (target.StartsWith('/'))
                {
                    current.Clear();
                }

                PushComponents(pending, target);
                continue;
            }

            if (pending.Count > 0 && (mode & TypeMask) != Directory)
            {
                resolved = "";
                problem = $"{path}: a path component is not a directory";
                return false;
            }

            current.Add(part);
        }

        resolved = root + "/" + string.Join('/', current);
        problem = null;
        return true;
    }

    private static void PushComponents(Stack<string> pending, string path)
    {
        var parts = path.Split('/');
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }

    private static unsafe bool TryStat(string path, out uint mode, out long size, bool follow = true)
    {
        // struct stat on x86-64: st_mode at 24, st_size at 48 (144 bytes).
        var buffer = stackalloc byte[256];
        var rc = follow ? Stat(path, buffer) : LStat(path, buffer);
        if (rc != 0)
        {
            mode = 0;
            size = 0;
            return false;
        }

        var span = new ReadOnlySpan<byte>(buffer, 256);
        mode = BinaryPrimitives.ReadUInt32LittleEndian(span[24..]);
        size = BinaryPrimitives.ReadInt64LittleEndian(span[48..]);
        return true;
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int LStat(string path, byte* buffer);
}
