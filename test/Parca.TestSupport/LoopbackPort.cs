using System.Net;
using System.Net.Sockets;

namespace Parca.TestSupport;

/// <summary>A free TCP port on 127.0.0.1 for a child process that must be told its port up front (in-process servers bind :0).</summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
