using Parca.Agent.Cli;
using Parca.Agent.Runtimes.Dotnet;

namespace Parca.Agent.Tests.Runtimes;

public sealed class DotnetOptionsTests
{
    [Fact]
    public void Perf_maps_are_turned_on_and_tiers_merged_unless_flags_say_otherwise()
    {
        var root = new System.CommandLine.RootCommand();
        foreach (var option in AgentCommandLine.AllOptions())
        {
            root.Options.Add(option);
        }

        var defaults = AgentCommandLine.Bind(root.Parse([]), []);
        Assert.False(defaults.DotnetPerfMapDisable);
        Assert.False(defaults.DotnetKeepTiers);
        var set = AgentCommandLine.Bind(root.Parse(["--dotnet-perf-map-disable", "--dotnet-keep-tiers"]), []);
        Assert.True(set.DotnetPerfMapDisable);
        Assert.True(set.DotnetKeepTiers);
    }

    [Fact]
    public void Runtime_replies_are_decoded_to_ok_or_the_hresult()
    {
        byte[] ok = [.. "DOTNET_IPC_V1\0"u8, 24, 0, 0xFF, 0x00, 0, 0, 0, 0, 0, 0];
        Assert.True(DiagnosticsIpc.Decode(ok).Success);

        // An older runtime answers an unknown command with Server/Error and an HRESULT.
        byte[] error = [.. "DOTNET_IPC_V1\0"u8, 24, 0, 0xFF, 0xFF, 0, 0, 0x01, 0x14, 0x13, 0x80];
        var refused = DiagnosticsIpc.Decode(error);
        Assert.False(refused.Success);
        Assert.Contains("HRESULT 0x80131401", refused.Error, StringComparison.Ordinal);

        Assert.Contains("without a reply", DiagnosticsIpc.Decode([]).Error, StringComparison.Ordinal);
        Assert.Contains("not a diagnostics IPC message", DiagnosticsIpc.Decode("HTTP/1.1 400 Bad"u8).Error, StringComparison.Ordinal);
    }
}
