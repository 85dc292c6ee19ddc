using System.Buffers.Binary;
using System.Net.Sockets;

namespace Parca.Agent.Runtimes.Dotnet;

/// <summary>What the runtime's perf map writer should produce (the runtime's PerfMapType values).</summary>
internal enum PerfMapType : uint
{
    Disabled = 0,
    All = 1,
    JitDump = 2,
    PerfMap = 3,
}

/// <summary>
/// The one command set of the .NET diagnostics IPC protocol the agent speaks: Process (0x04) EnablePerfMap (0x05)
/// and DisablePerfMap (0x06), .NET 8+. A message is a 20-byte header (the magic "DOTNET_IPC_V1\0", total size,
/// command set, command id, reserved) and a payload; the runtime answers with command set 0xFF, id 0x00 (OK) or
/// 0xFF (error), and a 4-byte HRESULT.
/// Why not Microsoft.Diagnostics.NETCore.Client: its DiagnosticsClient finds the socket by PID in the caller's own
/// /tmp, which misses every process in another mount or PID namespace (the socket is
/// /proc/PID/root/tmp/dotnet-diagnostic-NSPID-KEY-socket); the two commands are 24 bytes each way.
/// </summary>
internal static class DiagnosticsIpc
{
    private const int HeaderBytes = 20;
    private const byte ProcessCommandSet = 0x04;
    private const byte EnablePerfMapCommand = 0x05;
    private const byte DisablePerfMapCommand = 0x06;
    private const byte ServerCommandSet = 0xFF;
    private const byte ServerOk = 0x00;
    private static ReadOnlySpan<byte> Magic => "DOTNET_IPC_V1\0"u8;

    /// <summary>
    /// The diagnostics socket of host PID <paramref name="pid"/> (innermost PID <paramref name="namespacePid"/>) seen
    /// through its root, or null. The runtime names it dotnet-diagnostic-PID-KEY-socket, KEY being its start time;
    /// when a crashed predecessor with the same PID left one behind, the newest is the live one.
    /// </summary>
    public static string? FindSocket(string procRoot, int pid, int namespacePid)
    {
        var tmp = $"{procRoot}/{pid}/root/tmp";
        string? best = null;
        var bestTime = DateTime.MinValue;
        try
        {
            foreach (var path in Directory.EnumerateFiles(tmp, $"dotnet-diagnostic-{namespacePid}-*-socket"))
            {
                var time = File.GetLastWriteTimeUtc(path);
                if (best is null || time > bestTime)
                {
                    (best, bestTime) = (path, time);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return best;
    }

    public static Task<IpcResult> EnablePerfMapAsync(string socketPath, PerfMapType type, TimeSpan timeout)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)type);
        return SendAsync(socketPath, EnablePerfMapCommand, payload.ToArray(), timeout);
    }

    public static Task<IpcResult> DisablePerfMapAsync(string socketPath, TimeSpan timeout) =>
        SendAsync(socketPath, DisablePerfMapCommand, [], timeout);

    private static async Task<IpcResult> SendAsync(string socketPath, byte command, byte[] payload, TimeSpan timeout)
    {
        var message = new byte[HeaderBytes + payload.Length];
        Magic.CopyTo(message);
        BinaryPrimitives.WriteUInt16LittleEndian(message.AsSpan(14), (ushort)message.Length);
        message[16] = ProcessCommandSet;
        message[17] = command;
        payload.CopyTo(message.AsSpan(HeaderBytes));

        using var cts = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cts.Token).ConfigureAwait(false);
            await socket.SendAsync(message, SocketFlags.None, cts.Token).ConfigureAwait(false);
            var reply = new byte[HeaderBytes + 4];
            var read = 0;
            while (read < reply.Length)
            {
                var n = await socket.ReceiveAsync(reply.AsMemory(read), SocketFlags.None, cts.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            return Decode(reply.AsSpan(0, read));
        }
        catch (OperationCanceledException)
        {
            return IpcResult.Failed($"no answer within {timeout.TotalSeconds:0.#}s");
        }
        catch (SocketException e)
        {
            return IpcResult.Failed($"{socketPath}: {e.SocketErrorCode} ({e.Message})");
        }
    }

    /// <summary>Reads the runtime's reply: OK, or the HRESULT of an error (an older runtime answers unknown commands with one).</summary>
    internal static IpcResult Decode(ReadOnlySpan<byte> reply)
    {
        if (reply.Length < HeaderBytes || !reply[..Magic.Length].SequenceEqual(Magic))
        {
            return IpcResult.Failed(reply.Length == 0 ? "the runtime closed the connection without a reply" : $"a {reply.Length}-byte reply that is not a diagnostics IPC message");
        }

        var hresult = reply.Length >= HeaderBytes + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(reply[HeaderBytes..]) : 0u;
        if (reply[16] == ServerCommandSet && reply[17] == ServerOk && hresult == 0)
        {
            return IpcResult.Ok;
        }

        return IpcResult.Failed($"the runtime refused the command (HRESULT 0x{hresult:X8}; .NET 8 or later is needed)");
    }
}

/// <summary>The outcome of one diagnostics IPC command: OK, or why not in words for the log line.</summary>
internal readonly record struct IpcResult(bool Success, string? Error)
{
    public static IpcResult Ok => new(true, null);

    public static IpcResult Failed(string error) => new(false, error);
}
