using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Parca.Agent.Interop;
using Parca.Symbols.IO;

namespace Parca.Agent.Runtimes.Java;

/// <summary>
/// HotSpot's attach mechanism (what jcmd and jattach use), spoken directly: the agent sees the JVM's files through
/// /proc/PID/root and /proc/PID/cwd and addresses it by its PID inside its own namespace, so containers work and no
/// JDK tool is needed. When the JVM's socket /tmp/.java_pidNSPID is missing, the attach listener is started the way
/// the JDK does it: a trigger file .attach_pidNSPID in the JVM's working directory (or /tmp), then SIGQUIT; the JVM
/// sees the file and starts its "Attach Listener" thread instead of printing a thread dump. SIGQUIT is sent only
/// when the JVM catches it (a JVM started with -Xrs would otherwise die of it, as would one still starting up).
/// A request is "1\0jcmd\0COMMAND\0\0\0" (protocol version, operation, three arguments); the reply is a status
/// line ("0" = done) and the command's output.
/// </summary>
internal static class HotSpotAttach
{
    private const int MaxReplyBytes = 64 << 10;

    /// <summary>Runs jcmd <paramref name="command"/> in the JVM; returns its output, or throws <see cref="AttachException"/> with the reason.</summary>
    public static async Task<string> JcmdAsync(string procRoot, int pid, int nspid, string command, TimeSpan timeout)
    {
        var socket = $"{procRoot}/{pid}/root/tmp/.java_pid{nspid}";
        var handle = OpenSocket(procRoot, pid, nspid);
        if (handle is null)
        {
            await StartListenerAsync(procRoot, pid, nspid, socket, timeout).ConfigureAwait(false);
            handle = OpenSocket(procRoot, pid, nspid) ?? throw new AttachException($"{socket} is not a socket");
        }

        using var _ = handle;

        using var cts = new CancellationTokenSource(timeout);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await client.ConnectAsync(new UnixDomainSocketEndPoint($"/proc/self/fd/{handle.DangerousGetHandle()}"), cts.Token).ConfigureAwait(false);
            await client.SendAsync(Encoding.UTF8.GetBytes($"1\0jcmd\0{command}\0\0\0"), SocketFlags.None, cts.Token).ConfigureAwait(false);
            var reply = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token).ConfigureAwait(false)) > 0 && reply.Length < MaxReplyBytes)
            {
                reply.Write(buffer, 0, n);
            }

            return ParseReply(Encoding.UTF8.GetString(reply.GetBuffer(), 0, (int)reply.Length));
        }
        catch (OperationCanceledException)
        {
            throw new AttachException($"no reply from {socket} within {timeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e)
        {
            throw new AttachException($"{socket}: {e.Message}");
        }
    }

    /// <summary>The command's output from a reply, or <see cref="AttachException"/> when the JVM reports a failure.</summary>
    internal static string ParseReply(string reply)
    {
        var newline = reply.IndexOf('\n');
        var status = newline < 0 ? reply : reply[..newline];
        var output = newline < 0 ? "" : reply[(newline + 1)..];
        if (!int.TryParse(status, NumberStyles.Integer, CultureInfo.InvariantCulture, out var code))
        {
            throw new AttachException($"not an attach reply: \"{Shorten(reply)}\"");
        }

        // A jcmd the JVM does not know (JDK 16 and older lack Compiler.perfmap) still answers 0, with the exception as output.
        if (code != 0 || output.Contains("Exception", StringComparison.Ordinal))
        {
            throw new AttachException($"the JVM answered {code}: {Shorten(output)}");
        }

        return output;
    }

    private static async Task StartListenerAsync(string procRoot, int pid, int nspid, string socket, TimeSpan timeout)
    {
        if (!CatchesSigQuit(procRoot, pid))
        {
            throw new AttachException("the JVM does not handle SIGQUIT (started with -Xrs, or still starting), so its attach listener cannot be started");
        }

        // The JVM looks for the trigger in its working directory, then in its temp directory.
        string? trigger = null;
        foreach (var candidate in new[] { $"{procRoot}/{pid}/cwd/.attach_pid{nspid}", $"{procRoot}/{pid}/root/tmp/.attach_pid{nspid}" })
        {
            try
            {
                using (File.Create(candidate))
                {
                }

                trigger = candidate;
                break;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // read-only working directory: try /tmp
            }
        }

        if (trigger is null)
        {
            throw new AttachException($"could not create the attach trigger .attach_pid{nspid} in the JVM's working directory or /tmp");
        }

        try
        {
            if (Libc.Kill(pid, Libc.SigQuit) != 0)
            {
                throw new AttachException($"kill(SIGQUIT) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
            }

            var deadline = DateTime.UtcNow + timeout;
            while (!SocketExists(procRoot, pid, nspid))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new AttachException($"the JVM did not open {socket} within {timeout.TotalSeconds:0.#} s of SIGQUIT (-XX:+DisableAttachMechanism?)");
                }

                await Task.Delay(20).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(trigger);
        }
    }

    /// <summary>True when SIGQUIT is in the caught-signals mask of /proc/PID/status (SigCgt).</summary>
    internal static bool CatchesSigQuit(string procRoot, int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"{procRoot}/{pid}/status"))
            {
                if (line.StartsWith("SigCgt:", StringComparison.Ordinal))
                {
                    return ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var mask)
                        && (mask & (1UL << (Libc.SigQuit - 1))) != 0;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return false;
    }

    /// <summary>
    /// Opens the JVM's socket as an O_PATH descriptor beneath its root with no symlink followed, so a process cannot
    /// point the agent at another socket; the connection then goes through /proc/self/fd/N of that very file.
    /// Null when it is not there (or not a socket).
    /// </summary>
    private static SafeFileHandle? OpenSocket(string procRoot, int pid, int nspid)
    {
        if (SafeOpen.OpenDirectory($"{procRoot}/{pid}/root", out var root, out _) != FileRefusal.None || root is null)
        {
            return null;
        }

        using (root)
        {
            var fd = FileSyscalls.OpenAt2((int)root.DangerousGetHandle(), $"tmp/.java_pid{nspid}", FileSyscalls.OPath | FileSyscalls.ONoFollow | FileSyscalls.OCloExec,
                FileSyscalls.ResolveNoSymlinks | FileSyscalls.ResolveNoMagicLinks | FileSyscalls.ResolveBeneath);
            if (fd < 0)
            {
                return null;
            }

            var handle = new SafeFileHandle(fd, ownsHandle: true);
            if (FileSyscalls.FStat(fd, out var stat) != 0 || (stat.Mode & FileSyscalls.SIfMt) != FileSyscalls.SIfSock)
            {
                handle.Dispose();
                return null;
            }

            return handle;
        }
    }

    /// <summary>True when the JVM's attach socket is there (its listener was started, by the agent or by a JDK tool).</summary>
    internal static bool ListenerRuns(string procRoot, int pid, int nspid) => SocketExists(procRoot, pid, nspid);

    private static bool SocketExists(string procRoot, int pid, int nspid)
    {
        using var handle = OpenSocket(procRoot, pid, nspid);
        return handle is not null;
    }

    private static string Shorten(string text) => (text.Length > 200 ? text[..200] + "..." : text).Replace('\n', ' ').Trim();
}

/// <summary>Why the agent could not run a command in a JVM (one log line per process).</summary>
internal sealed class AttachException(string message) : Exception(message);
