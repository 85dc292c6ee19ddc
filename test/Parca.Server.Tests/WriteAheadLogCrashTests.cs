using System.Diagnostics;
using System.Net;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

/// <summary>
/// The real <c>parca</c> executable with <c>--storage-enable-wal</c>, killed with SIGKILL after acknowledging
/// WriteRaw requests of real pprof files: restarted on the same storage path, it answers the same reports for
/// every profile type, and says how many profiles it replayed.
/// </summary>
public sealed class WriteAheadLogCrashTests
{
    internal static string ParcaDll => Path.Combine(AppContext.BaseDirectory, "parca.dll");

    [Fact]
    public async Task A_killed_server_replays_every_acknowledged_profile()
    {
        var dir = Directory.CreateTempSubdirectory("parca-wal-crash-");
        try
        {
            var config = Path.Combine(dir.FullName, "parca.yaml");
            await File.WriteAllTextAsync(config, $"object_storage:\n  bucket:\n    type: \"FILESYSTEM\"\n    config:\n      directory: \"{dir.FullName}\"\nscrape_configs: []\n");
            var port = LoopbackPort.Free();
            string[] args = [$"--config-path={config}", $"--http-address=127.0.0.1:{port}", "--enable-persistence",
                $"--storage-path={Path.Combine(dir.FullName, "data")}", "--storage-enable-wal"];

            List<(string Type, Top Top)> before;
            var first = await StartAsync(args, port);
            try
            {
                using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
                var request = new WriteRawRequest();
                request.Series.Add(Series("../shared/testdata/pprof/parca/profile1.pb.gz", ("__name__", "process_cpu"), ("job", "one")));
                request.Series.Add(Series("../shared/testdata/pprof/parca/labels.pb.gz", ("__name__", "process_cpu"), ("job", "two")));
                await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request);
                before = await ReportsAsync(channel);
                Assert.NotEmpty(before);
            }
            finally
            {
                first.Process.Kill(); // SIGKILL: no shutdown, no flush
                await first.Process.WaitForExitAsync();
            }

            Assert.Empty(Directory.Exists(Path.Combine(dir.FullName, "data", "blocks")) ? Directory.GetFiles(Path.Combine(dir.FullName, "data", "blocks")) : []);
            var second = await StartAsync(args, port);
            try
            {
                using var channel = RpcChannel.Create($"http://127.0.0.1:{port}");
                var after = await ReportsAsync(channel);
                Assert.Equal(before.Select(r => r.Type), after.Select(r => r.Type));
                for (var i = 0; i < before.Count; i++)
                {
                    Assert.Equal(before[i].Top, after[i].Top);
                }

                Assert.Contains("replayed 2 profiles from the write-ahead log", second.Output.ToString(), StringComparison.Ordinal);
            }
            finally
            {
                second.Process.Kill();
                await second.Process.WaitForExitAsync();
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    internal static RawProfileSeries Series(string file, params (string Name, string Value)[] labels) => Series(file, DateTimeOffset.UtcNow, labels);

    internal static RawProfileSeries Series(string file, DateTimeOffset time, params (string Name, string Value)[] labels)
    {
        var series = new RawProfileSeries { Labels = new LabelSet() };
        foreach (var (name, value) in labels)
        {
            series.Labels.Labels.Add(new Label { Name = name, Value = value });
        }

        // Stamped now, so both land in one head that is still open (not yet a block) when the server is killed.
        var profile = Parca.Pprof.PprofDecoder.DecodeProfile(File.ReadAllBytes(Path.Combine(RepoPaths.Root, file)));
        profile.TimeNanos = time.ToUnixTimeMilliseconds() * 1_000_000;
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(Parca.Pprof.PprofEncoder.Encode(profile)) });
        return series;
    }

    /// <summary>The TOP report of every profile type, merged over all time, in the order ProfileTypes lists them.</summary>
    internal static async Task<List<(string Type, Top Top)>> ReportsAsync(RpcChannel channel)
    {
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        var reports = new List<(string, Top)>();
        foreach (var t in types.Types_.OrderBy(t => t.SampleType, StringComparer.Ordinal))
        {
            var type = $"{t.Name}:{t.SampleType}:{t.SampleUnit}:{t.PeriodType}:{t.PeriodUnit}" + (t.Delta ? ":delta" : "");
            var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
            {
                Mode = QueryRequest.Types.Mode.Merge,
                Merge = new MergeProfile { Query = type, Start = new Timestamp(), End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)) },
                ReportType = QueryRequest.Types.ReportType.Top,
            });
            reports.Add((type, response.Top));
        }

        return reports;
    }

    internal static async Task<(Process Process, StringBuilder Output)> StartAsync(string[] args, int port)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ParcaDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient();
        for (var i = 0; i < 300; i++)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"parca exited with {process.ExitCode}:\n{output}");
            }

            try
            {
                if ((await http.GetAsync($"http://127.0.0.1:{port}/healthz")).StatusCode == HttpStatusCode.OK)
                {
                    return (process, output);
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(100);
        }

        process.Kill();
        throw new InvalidOperationException($"parca did not become healthy:\n{output}");
    }
}
