using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Server.Tests;

public sealed partial class ObjectStorageTests
{
    /// <summary>The profile type of the test file's first sample type, and what one write of it adds to that type's total.</summary>
    private static async Task<(string Type, long PerRequest)> ProfileTypeAsync(ParcaProcess server)
    {
        var profile = Parca.Pprof.PprofDecoder.DecodeProfile(File.ReadAllBytes(Path.Combine(RepoPaths.Root, ProfileFile)));
        var first = profile.SampleTypes[0];
        long total = 0;
        foreach (var sample in profile.Samples)
        {
            total += sample.Values[0];
        }

        if (first is { Type: "samples", Unit: "count" })
        {
            total *= profile.Period; // reported as value × period (CPU time), as Parca does
        }

        using var channel = RpcChannel.Create(server.BaseAddress);
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        var t = types.Types_.Single(t => t.SampleType == first.Type && t.SampleUnit == first.Unit);
        return ($"{t.Name}:{t.SampleType}:{t.SampleUnit}:{t.PeriodType}:{t.PeriodUnit}" + (t.Delta ? ":delta" : ""), total);
    }

    /// <summary>Writes <paramref name="count"/> requests of the test file, each labelled <paramref name="label"/>=<paramref name="value"/>.</summary>
    private static async Task WriteAsync(ParcaProcess server, string value, int offsetSeconds, int count, string label = "job")
    {
        using var channel = RpcChannel.Create(server.BaseAddress);
        for (var i = 0; i < count; i++)
        {
            var request = new WriteRawRequest();
            request.Series.Add(WriteAheadLogCrashTests.Series(ProfileFile, DateTimeOffset.UtcNow.AddSeconds(offsetSeconds), ("__name__", "process_cpu"), (label, value)));
            await channel.UnaryAsync(ParcaApi.ProfileStore.WriteRaw, request, new CallOptions { Timeout = TimeSpan.FromSeconds(20) });
        }
    }

    /// <summary>Total of <paramref name="type"/> per value of <paramref name="label"/> (QueryRange with sum_by), over all time.</summary>
    private static async Task<Dictionary<string, long>> TotalsAsync(ParcaProcess server, string type, string label)
    {
        using var channel = RpcChannel.Create(server.BaseAddress);
        var response = await channel.UnaryAsync(ParcaApi.QueryService.QueryRange, new QueryRangeRequest
        {
            Query = type + "{}",
            Start = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
            End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
            Step = Duration.FromTimeSpan(TimeSpan.FromHours(1)),
            SumBy = { label },
        });
        var totals = new Dictionary<string, long>();
        foreach (var s in response.Series)
        {
            var key = s.Labelset.Labels.SingleOrDefault(l => l.Name == label)?.Value ?? "";
            totals[key] = totals.GetValueOrDefault(key) + s.Samples.Sum(p => p.Value);
        }

        return totals;
    }

    /// <summary>
    /// Polls until the totals equal <paramref name="expected"/> (blocks are cut and discovered within seconds), then
    /// checks that they stay equal over two more sync intervals (nothing arrives twice). Returns the last totals, so the
    /// caller's assertion shows the difference when they never matched. With <paramref name="merge"/> the merged
    /// flame of the type is read too (cold blocks' samples, not just their totals).
    /// </summary>
    private static async Task<Dictionary<string, long>> SettledTotalsAsync(ParcaProcess server, string type, string label, Dictionary<string, long> expected, bool merge = false)
    {
        var deadline = DateTime.UtcNow + s_settle;
        Dictionary<string, long> totals;
        while (true)
        {
            totals = await TryTotalsAsync(server, type, label);
            if (Same(totals, expected) || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(500);
        }

        if (!Same(totals, expected))
        {
            return totals;
        }

        await Task.Delay(2500);
        totals = await TotalsAsync(server, type, label);
        if (merge)
        {
            using var channel = RpcChannel.Create(server.BaseAddress);
            var top = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
            {
                Mode = QueryRequest.Types.Mode.Merge,
                Merge = new MergeProfile { Query = type + "{}", Start = new Timestamp(), End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)) },
                ReportType = QueryRequest.Types.ReportType.Top,
            });
            Assert.Equal(expected.Values.Sum(), top.Top.List.Sum(n => n.Flat));
        }

        return totals;
    }

    private static async Task<Dictionary<string, long>> TryTotalsAsync(ParcaProcess server, string type, string label)
    {
        try
        {
            return await TotalsAsync(server, type, label);
        }
        catch (RpcException e) when (e.Status == StatusCode.NotFound)
        {
            return [];
        }
    }

    private static bool Same(Dictionary<string, long> a, Dictionary<string, long> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    /// <summary>QueryRange over Connect JSON, to see the response's <c>parca-warning</c> header too.</summary>
    private static async Task<(Dictionary<string, long> Totals, string Warning)> TotalsWithWarningAsync(ParcaProcess server, string type, string label)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsJsonAsync($"{server.BaseAddress}/parca.query.v1alpha1.QueryService/QueryRange", new Dictionary<string, object>
        {
            ["query"] = type + "{}",
            ["start"] = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["end"] = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["step"] = "3600s",
            ["sumBy"] = new[] { label },
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"QueryRange answered {(int)response.StatusCode}: {body}");
        var totals = new Dictionary<string, long>();
        using var doc = JsonDocument.Parse(body);
        foreach (var s in doc.RootElement.GetProperty("series").EnumerateArray())
        {
            var key = "";
            foreach (var l in s.GetProperty("labelset").GetProperty("labels").EnumerateArray())
            {
                if (l.GetProperty("name").GetString() == label)
                {
                    key = l.GetProperty("value").GetString()!;
                }
            }

            foreach (var p in s.GetProperty("samples").EnumerateArray())
            {
                totals[key] = totals.GetValueOrDefault(key) + long.Parse(p.GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return (totals, response.Headers.TryGetValues("parca-warning", out var w) ? string.Join(" ", w) : "");
    }

    private sealed class TempDir : IDisposable
    {
        private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("parca-objstore-");

        public string Sub(string name) => Path.Combine(_dir.FullName, name);

        public string Config(RadosGw gateway, string prefix)
        {
            var path = Sub("parca.yaml");
            Prefix = prefix + "-" + Guid.NewGuid().ToString("N")[..6];
            File.WriteAllText(path, gateway.ParcaYaml(RadosGwFixture.Bucket, Prefix));
            return path;
        }

        /// <summary>The key prefix of the last <see cref="Config"/> (unique per test run: the bucket outlives runs only by accident).</summary>
        public string Prefix { get; private set; } = "";

        public void Dispose() => _dir.Delete(recursive: true);
    }
}
