using System.Diagnostics;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// Debian's real <c>debuginfod</c> serving a directory, inside a network namespace the test creates (it binds every
/// address, so it must not run in the host's), reached over a veth pair on a private /30.
/// </summary>
internal sealed class DebuginfodPeer : IDisposable
{
    private readonly string _namespace;
    private readonly string _hostLink;
    private readonly Process _process;

    private DebuginfodPeer(string ns, string hostLink, Process process, string url)
    {
        _namespace = ns;
        _hostLink = hostLink;
        _process = process;
        Url = url;
    }

    public string Url { get; }

    public static async Task<DebuginfodPeer> StartAsync(string directory, string expectBuildId)
    {
        if (!File.Exists("/usr/bin/debuginfod"))
        {
            throw new InvalidOperationException("debuginfod is not installed (scripts/bootstrap.sh test installs the debuginfod package)");
        }

        var tag = Random.Shared.Next(1 << 20).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        var ns = "pdbgd" + tag;
        var (host, peer) = ("pdh" + tag, "pdp" + tag);
        var octet = Random.Shared.Next(1, 250);
        var quad = Random.Shared.Next(0, 63) * 4;
        var (hostIp, peerIp) = ($"10.213.{octet}.{quad + 1}", $"10.213.{octet}.{quad + 2}");
        NativeProgram.Run("bash", "-euo pipefail -c \"" +
            $"ip netns add {ns} && ip link add {host} type veth peer name {peer} netns {ns} && " +
            $"ip addr add {hostIp}/30 dev {host} && ip link set {host} up && " +
            $"ip netns exec {ns} ip link set lo up && ip netns exec {ns} ip addr add {peerIp}/30 dev {peer} && ip netns exec {ns} ip link set {peer} up\"");
        var psi = new ProcessStartInfo("ip", $"netns exec {ns} debuginfod -F {directory} -p 8002 -d {Path.Combine(directory, "debuginfod.sqlite")}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var result = new DebuginfodPeer(ns, host, process, $"http://{peerIp}:8002");

        // Ready once the scan has indexed the file the test needs.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var r = await http.GetAsync(new Uri($"{result.Url}/buildid/{expectBuildId}/debuginfo"), HttpCompletionOption.ResponseHeadersRead);
                if (r.IsSuccessStatusCode)
                {
                    return result;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        result.Dispose();
        throw new InvalidOperationException($"debuginfod in {ns} did not serve {expectBuildId}");
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            NativeProgram.Run("bash", $"-c \"ip netns pids {_namespace} | xargs -r kill; ip netns del {_namespace}; ip link del {_hostLink} 2>/dev/null; true\"");
        }
        catch (InvalidOperationException)
        {
        }
    }
}
