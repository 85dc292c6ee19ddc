using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Server.Tests.Arrow;

/// <summary>One request of a <see cref="ArrowPeers.GrpcJsWriteAsync"/> plan.</summary>
internal sealed record WriteStep(string Name, string Method, byte[][] Records, int? DeadlineMs = null);

/// <summary>
/// The real peers of the Arrow tests: @grpc/grpc-js (test/interop/arrow-write.mjs) sends the records, our query API
/// reads them back (the pprof report, so stacks, values and mappings are exact).
/// </summary>
internal static class ArrowPeers
{
    public static string InteropDir => Path.Combine(RepoPaths.Root, "test", "interop");

    public static async Task<JsonElement> GrpcJsWriteAsync(ParcaServer server, params WriteStep[] steps)
    {
        var dir = Directory.CreateTempSubdirectory("parca-arrow-");
        try
        {
            var plan = new List<object>();
            foreach (var s in steps)
            {
                var files = new List<string>();
                for (var i = 0; i < s.Records.Length; i++)
                {
                    var f = Path.Combine(dir.FullName, $"{plan.Count}-{i}.arrow");
                    await File.WriteAllBytesAsync(f, s.Records[i]);
                    files.Add(f);
                }

                plan.Add(new { name = s.Name, method = s.Method, files, deadlineMs = s.DeadlineMs });
            }

            var planFile = Path.Combine(dir.FullName, "plan.json");
            await File.WriteAllTextAsync(planFile, JsonSerializer.Serialize(plan));
            return JsonDocument.Parse(await NodeAsync("arrow-write.mjs", server.BaseAddress.Authority, planFile)).RootElement;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>Asserts that step <paramref name="name"/> succeeded, showing the whole answer otherwise.</summary>
    public static void AssertOk(JsonElement result, string name) =>
        Assert.True(result.GetProperty(name).TryGetProperty("ok", out var ok) && ok.GetBoolean(), $"{name}: {result}");

    public static async Task<string> NodeAsync(string script, params string[] args)
    {
        if (!Directory.Exists(Path.Combine(InteropDir, "node_modules", "@uwdata", "flechette")))
        {
            throw new InvalidOperationException("test/interop/node_modules lacks @uwdata/flechette: run scripts/bootstrap.sh test (it runs npm ci there)");
        }

        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = InteropDir };
        psi.ArgumentList.Add(script);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"node {script} exited with {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    /// <summary>Profile types the server lists, as query strings.</summary>
    public static async Task<List<string>> ProfileTypesAsync(ParcaServer server)
    {
        using var channel = RpcChannel.Create(server.BaseAddress.GetLeftPart(UriPartial.Authority));
        var types = await channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, new ProfileTypesRequest());
        return [.. types.Types_.Select(t => $"{t.Name}:{t.SampleType}:{t.SampleUnit}:{t.PeriodType}:{t.PeriodUnit}" + (t.Delta ? ":delta" : "")).Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The merged profile of <paramref name="query"/> over all time, as root-first stacks ("main;work;leaf") with
    /// their values. An unsymbolized frame reads "0xADDR@file[build id]". Samples with an empty stack count only in
    /// the profile's total (the pprof report has no sample for the root); their sum is reported under "".
    /// </summary>
    public static async Task<Dictionary<string, long>> StacksAsync(ParcaServer server, string query)
    {
        using var channel = RpcChannel.Create(server.BaseAddress.GetLeftPart(UriPartial.Authority));
        var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = new MergeProfile { Query = query, Start = new Timestamp(), End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)) },
            ReportType = QueryRequest.Types.ReportType.Pprof,
        });
        var p = Pprof.PprofDecoder.DecodeProfile(response.Pprof.Span);
        var result = new Dictionary<string, long>();
        foreach (var s in p.Samples)
        {
            var frames = new List<string>();
            foreach (var id in s.LocationIds)
            {
                var loc = p.Locations.First(l => l.Id == id);
                if (loc.Lines.Count == 0)
                {
                    var m = p.Mappings.FirstOrDefault(m => m.Id == loc.MappingId);
                    frames.Add($"0x{loc.Address:x}@{m?.Filename}[{m?.BuildId}]");
                    continue;
                }

                frames.AddRange(loc.Lines.Select(l => p.Functions.First(f => f.Id == l.FunctionId).Name));
            }

            frames.Reverse();
            var key = string.Join(";", frames);
            result[key] = result.GetValueOrDefault(key) + s.Values[0];
        }

        var rootOnly = response.Total - result.Values.Sum();
        if (rootOnly != 0)
        {
            result[""] = rootOnly;
        }

        return result;
    }
}
