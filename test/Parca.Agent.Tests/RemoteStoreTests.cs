using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Parca.Agent.Profiling;
using Parca.Agent.Shipping;
using Parca.Pprof;
using Parca.Protocol.Profilestore.V1Alpha1;

namespace Parca.Agent.Tests;

/// <summary>
/// Shipping with WriteRaw to a real gRPC server from another ecosystem (Python grpcio). When the parca server's
/// WriteRaw ingest lands, <see cref="Agent_ships_labelled_profiles_with_bearer_token_and_retries"/> points at it instead.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class RemoteStoreTests
{
    [Fact]
    public async Task Agent_ships_labelled_profiles_with_bearer_token_and_retries()
    {
        var dir = Directory.CreateTempSubdirectory("parca-writeraw-").FullName;
        using var receiver = StartReceiver(dir, failFirst: 1, token: "s3cret", out var port);
        try
        {
            var path = Tracees.Build("chain");
            // The token comes from a file (--remote-store-bearer-token-file: not visible in ps), trailing newline trimmed.
            var tokenFile = Path.Combine(dir, "token");
            File.WriteAllText(tokenFile, "s3cret\n");
            await using var agent = await AgentHarness.StartAsync(windowSeconds: 1, configure: o =>
            {
                o.RemoteStoreAddress = $"127.0.0.1:{port}";
                o.RemoteStoreInsecure = true;
                o.RemoteStoreBearerTokenFile = tokenFile;
                o.RemoteStoreBatchWriteInterval = TimeSpan.FromSeconds(1);
            });
            using var tracee = Tracees.Start(path, "3");
            RawProfileSeries? chain = null;
            string auth = "";
            for (var attempt = 0; attempt < 100 && chain is null; attempt++)
            {
                await Task.Delay(200);
                foreach (var file in Directory.GetFiles(dir, "request-*.bin"))
                {
                    var request = WriteRawRequest.Parser.ParseFrom(File.ReadAllBytes(file));
                    chain = request.Series.FirstOrDefault(s => s.Labels.Labels.Any(l => l.Name == "comm" && l.Value == "chain"));
                    if (chain is not null)
                    {
                        auth = File.ReadAllText(Path.ChangeExtension(file, ".auth"));
                        break;
                    }
                }
            }

            Assert.NotNull(chain);
            Assert.Equal("Bearer s3cret", auth);
            Assert.Equal(["__name__", "comm", "node"], chain.Labels.Labels.Select(l => l.Name));
            Assert.Equal("parca_agent_cpu", chain.Labels.Labels[0].Value);
            var sample = chain.Samples[0];
            var profile = PprofDecoder.Decode(sample.RawProfile.Span).ToProfile();
            Assert.Equal(["samples", "cpu"], profile.SampleTypes.Select(t => t.Type));
            Assert.Equal(profile.Mappings.Count, sample.ExecutableInfo.Count);
            var exe = profile.Mappings.FindIndex(m => m.Filename == path);
            Assert.True(exe >= 0, "the tracee's mapping is missing");
            Assert.Equal(3u, sample.ExecutableInfo[exe].ElfType); // ET_DYN: a PIE
            Assert.Contains(profile.Functions, f => f.Name == "burn");

            var metrics = agent.Agent.Metrics.Render();
            Assert.Contains("parca_agent_remote_store_failures_total 1\n", metrics, StringComparison.Ordinal); // the injected UNAVAILABLE
            Assert.DoesNotContain("parca_agent_remote_store_sent_total 0\n", metrics, StringComparison.Ordinal);
        }
        finally
        {
            receiver.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Buffer_is_bounded_dropping_the_oldest_while_the_store_is_unreachable()
    {
        // Port 1 on loopback: connection refused, so every flush fails and the buffer only grows until its bound.
        await using var store = new RemoteStore("127.0.0.1:1", new Parca.Rpc.Client.RpcChannelOptions { Insecure = true, MaxAttempts = 1 },
            TimeSpan.FromHours(1), TimeSpan.FromSeconds(2), capacity: 3, NullLogger.Instance);
        for (var i = 0; i < 5; i++)
        {
            await store.WriteAsync(Series(i), CancellationToken.None);
        }

        Assert.Equal((3L, 2L, 0L, 0L), store.Stats);
        Assert.False(await store.FlushAsync(CancellationToken.None));
        Assert.Equal((3L, 2L, 0L, 1L), store.Stats);
    }

    [Fact]
    public void Series_with_the_same_labels_are_merged_into_one_request_entry()
    {
        var request = RemoteStore.BuildRequest([Series(1), Series(1), Series(2)]);
        Assert.Equal(2, request.Series.Count);
        Assert.Equal(2, request.Series[0].Samples.Count);
        Assert.Equal(["__name__", "comm", "node"], request.Series[0].Labels.Labels.Select(l => l.Name));
    }

    private static ProfileSeries Series(int n) => new(
        new SortedDictionary<string, string>(StringComparer.Ordinal) { ["comm"] = "p" + n, ["node"] = "n" },
        [0x1f, 0x8b], [n], 1, DateTimeOffset.UnixEpoch, TimeSpan.FromSeconds(10), []);

    private static Process StartReceiver(string dir, int failFirst, string token, out int port)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "interop", "writeraw_receiver.py");
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { script, dir, failFirst.ToString(System.Globalization.CultureInfo.InvariantCulture), token })
        {
            psi.ArgumentList.Add(a);
        }

        var p = Process.Start(psi) ?? throw new InvalidOperationException("python3 did not start");
        var line = p.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the grpcio receiver did not print its port (is python3-grpcio installed?)");
        port = int.Parse(line, System.Globalization.CultureInfo.InvariantCulture);
        return p;
    }
}
