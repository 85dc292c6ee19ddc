using System.Globalization;
using System.Text.RegularExpressions;

namespace Parca.Agent.Tests;

/// <summary>
/// The agent names native frames from debug files on the real kernel: libc's start code from Debian's libc6-dbg
/// (build-id path under --debuginfo-directories), and a stripped Go binary from its .gopclntab exactly as
/// `go tool addr2line` does. Addresses and build ids stay in the profile.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed partial class DebugSymbolsEndToEndTests
{
    private const string Libc = "/usr/lib/x86_64-linux-gnu/libc.so.6";

    [Fact]
    public async Task Libc_frame_below_main_is_named_libc_start_call_main_from_libc6_dbg()
    {
        var libcBuildId = BuildId(Libc);
        Assert.True(File.Exists($"/usr/lib/debug/.build-id/{libcBuildId[..2]}/{libcBuildId[2..]}.debug"), "libc6-dbg is not installed (scripts/bootstrap.sh test installs it)");
        var path = Tracees.Build("chain");
        await using var agent = await AgentHarness.StartAsync();
        Assert.Equal(["/usr/lib/debug"], agent.Agent.Options.DebuginfoDirectories);
        using var tracee = Tracees.Start(path, "8");
        var first = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id), maxWindows: 8); // see the Go test
        var series = await agent.WaitForProfileAsync(p => p != first && p.Pids.Contains(tracee.Id) && p.Samples >= 5, maxWindows: 8);
        var file = AgentHarness.Save(series);
        var traces = GoPprof.Traces(file);
        var total = traces.Sum(t => t.Seconds);
        var named = traces.Where(t => Below(t.Frames, "main") == "__libc_start_call_main").Sum(t => t.Seconds);
        Assert.True(named >= total * 0.9, $"main <- __libc_start_call_main holds {named:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");

        // The libc mapping keeps its build id, so a server can symbolize the same addresses again.
        Assert.Contains($"{Libc} {libcBuildId}", GoPprof.Run("-raw", file), StringComparison.Ordinal);
        var metrics = await new HttpClient().GetStringAsync(new Uri(agent.Agent.BaseAddress, "/metrics"));
        Assert.Matches(@"parca_agent_debuginfo_files_loaded_total [1-9]", metrics);
        Assert.Contains("parca_agent_debuginfo_skipped_total 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_debuginfo_directories_libc_start_code_stays_unnamed()
    {
        var path = Tracees.Build("chain");
        await using var agent = await AgentHarness.StartAsync(configure: o => o.DebuginfoDirectories = []);
        using var tracee = Tracees.Start(path, "3");
        var series = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id) && p.Samples >= 10);
        var traces = GoPprof.Traces(AgentHarness.Save(series));
        Assert.Contains(traces, t => Below(t.Frames, "main") is not null);
        Assert.DoesNotContain(traces, t => Below(t.Frames, "main") == "__libc_start_call_main");
    }

    [Fact]
    public async Task Stripped_go_binary_frames_are_named_as_go_tool_addr2line_names_them()
    {
        var binary = BuildGoTracee();
        await using var agent = await AgentHarness.StartAsync();
        using var tracee = Tracees.Start(binary, "8");

        // A later window than the first: on a loaded machine the process's files may still be opening (off the
        // window path, with a deadline) when its first window closes, and that window keeps raw addresses.
        var first = await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id), maxWindows: 8);
        var series = await agent.WaitForProfileAsync(p => p != first && p.Pids.Contains(tracee.Id) && p.Samples >= 5, maxWindows: 8);
        var file = AgentHarness.Save(series);
        var traces = GoPprof.Traces(file);
        var total = traces.Sum(t => t.Seconds);
        // Which frames the walk reaches is the unwinder's business; the names of the hot code are this test's.
        var hot = traces.Where(t => t.Frames[0] is "main.(*worker).spin" or "main.mix" && t.Frames.Contains("main.main")).Sum(t => t.Seconds);
        Assert.True(hot >= total * 0.8, $"spin ... main holds {hot:F3}s of {total:F3}s:\n{Tracees.Run("go", "tool pprof -traces " + file)}");

        // Every location in the Go binary: our name is what go tool addr2line says for the address (leaf) or the
        // address - 1 (a return address, looked up inside the call instruction).
        var raw = GoPprof.Run("-raw", file);
        var mapping = MappingId(raw, binary);
        var locations = LocationLine().Matches(raw).Where(m => m.Groups["m"].Value == mapping)
            .Select(m => (Address: ulong.Parse(m.Groups["a"].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture), Name: m.Groups["f"].Value.Trim()))
            .ToList();
        Assert.True(locations.Count >= 3, raw);
        var queries = locations.SelectMany(l => new[] { l.Address, l.Address - 1 }).ToList();
        var answers = RunWithInput("go", "tool addr2line " + binary, string.Join('\n', queries.Select(a => "0x" + a.ToString("x", CultureInfo.InvariantCulture))) + "\n")
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < locations.Count; i++)
        {
            var asLeaf = answers[i * 4];
            var asReturn = answers[(i * 4) + 2];
            Assert.True(locations[i].Name == asLeaf || locations[i].Name == asReturn, $"0x{locations[i].Address:x}: ours '{locations[i].Name}', go tool addr2line '{asLeaf}' / '{asReturn}'");
        }
    }

    private static string? Below(string[] frames, string function)
    {
        var i = Array.IndexOf(frames, function);
        return i >= 0 && i + 1 < frames.Length ? frames[i + 1] : null;
    }

    private static string BuildId(string path) =>
        Tracees.Run("readelf", "-n " + path).Split('\n').Single(l => l.Contains("Build ID:", StringComparison.Ordinal)).Split("Build ID:")[1].Trim();

    private static string MappingId(string raw, string path)
    {
        foreach (var line in raw[raw.IndexOf("Mappings", StringComparison.Ordinal)..].Split('\n'))
        {
            if (line.Contains(" " + path + " ", StringComparison.Ordinal) || line.EndsWith(" " + path, StringComparison.Ordinal))
            {
                return line.Trim().Split(':')[0];
            }
        }

        throw new InvalidOperationException($"no mapping for {path} in:\n{raw}");
    }

    private static string BuildGoTracee()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "tracees", "gospin");
        var output = Path.Combine(Tracees.OutputDirectory, "gospin");
        Directory.CreateDirectory(Tracees.OutputDirectory);
        var psi = new System.Diagnostics.ProcessStartInfo("go", $"build -ldflags=-s -o {output} .") { WorkingDirectory = source, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["GOPROXY"] = "off";
        psi.Environment["GOFLAGS"] = "-mod=mod";
        psi.Environment["GOCACHE"] = Path.Combine(Path.GetTempPath(), "parca-agent-tests-gocache");
        psi.Environment["HOME"] = Tracees.OutputDirectory;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "go build: " + stderr);
        Assert.DoesNotContain(".symtab", Tracees.Run("readelf", "-SW " + output), StringComparison.Ordinal);
        return output;
    }

    private static string RunWithInput(string file, string arguments, string input)
    {
        var psi = new System.Diagnostics.ProcessStartInfo(file, arguments) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        p.WaitForExit();
        return output.Result;
    }

    [GeneratedRegex(@"^\s*\d+: 0x(?<a>[0-9a-f]+) M=(?<m>\d+) (?<f>[^\n]*?) \S*:\d+(:\d+)? s=\d+", RegexOptions.Multiline)]
    private static partial Regex LocationLine();
}
