using System.Runtime.InteropServices;

namespace Parca.Agent.Tests;

/// <summary>
/// Records which processes open given files, through fanotify (root only): the hostile-file test proves with it
/// that the agent never opened the targets of a process's symlinks. Each event carries the opener's PID.
/// </summary>
internal sealed partial class FileOpenWatch : IDisposable
{
    private const uint FanCloexec = 0x1;
    private const uint FanNonblock = 0x2;
    private const uint FanMarkAdd = 0x1;
    private const ulong FanAccess = 0x1;
    private const ulong FanOpen = 0x20;
    private const int AtFdCwd = -100;
    private readonly int _fd;
    private readonly List<(int Pid, ulong Mask)> _events = [];

    public FileOpenWatch(params string[] paths)
    {
        _fd = FanotifyInit(FanCloexec | FanNonblock, 0x8000 /* O_LARGEFILE */ | 0x80000 /* O_CLOEXEC */);
        if (_fd < 0)
        {
            throw new InvalidOperationException($"fanotify_init failed (errno {Marshal.GetLastPInvokeError()}): this test needs root (CAP_SYS_ADMIN)");
        }

        foreach (var path in paths)
        {
            if (FanotifyMark(_fd, FanMarkAdd, FanOpen | FanAccess, AtFdCwd, path) != 0)
            {
                throw new InvalidOperationException($"fanotify_mark {path} failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }

    /// <summary>Every open or read of a watched file so far, with the PID (thread group) that did it.</summary>
    public unsafe IReadOnlyList<(int Pid, ulong Mask)> Drain()
    {
        var buffer = new byte[64 * 1024];
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = Read(_fd, p, buffer.Length);
                if (n <= 0)
                {
                    break; // EAGAIN: nothing more
                }

                for (var at = 0; at + 24 <= n;)
                {
                    var length = BitConverter.ToInt32(buffer, at);
                    var mask = BitConverter.ToUInt64(buffer, at + 8);
                    var fd = BitConverter.ToInt32(buffer, at + 16);
                    var pid = BitConverter.ToInt32(buffer, at + 20);
                    if (fd >= 0)
                    {
                        _ = Close(fd);
                    }

                    _events.Add((pid, mask));
                    at += length;
                }
            }
        }

        return _events;
    }

    public void Dispose() => _ = Close(_fd);

    [LibraryImport("libc", EntryPoint = "fanotify_init", SetLastError = true)]
    private static partial int FanotifyInit(uint flags, uint eventFlags);

    [LibraryImport("libc", EntryPoint = "fanotify_mark", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FanotifyMark(int fd, uint flags, ulong mask, int dirFd, string path);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static unsafe partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
