using System.Text.Json;
using Google.Protobuf.Reflection;

namespace Parca.Rpc.Tests;

/// <summary>
/// Our .proto files (written from the reference field tables) against @parca/client, which is generated from
/// Parca's own .proto files: every message, field number, name, type, label, oneof, proto3 optional, every service
/// method's shape, and every REST route must agree.
/// </summary>
public sealed class SchemaCrossCheckTests
{
    /// <summary>Fields we add to Parca's messages start at this number (e.g. FlamegraphArrow's trim report, 100–103).</summary>
    private const int OurExtensionFieldsFrom = 100;

    private static readonly FileDescriptor[] s_files =
    [
        Parca.Protocol.Profilestore.V1Alpha1.ProfilestoreReflection.Descriptor,
        Parca.Protocol.Query.V1Alpha1.QueryReflection.Descriptor,
        Parca.Protocol.Metastore.V1Alpha1.MetastoreReflection.Descriptor,
        Parca.Protocol.Debuginfo.V1Alpha1.DebuginfoReflection.Descriptor,
        Parca.Protocol.Scrape.V1Alpha1.ScrapeReflection.Descriptor,
        Parca.Protocol.Telemetry.V1Alpha1.TelemetryReflection.Descriptor,
        Parca.Protocol.Share.V1Alpha1.ShareReflection.Descriptor,
        Grpc.Health.V1.HealthReflection.Descriptor,
    ];

    /// <summary>
    /// grpc.health.v1 is served by Grpc.AspNetCore.HealthChecks with Grpc.HealthCheck's health.proto, which has no
    /// List method yet (Parca's copy does). This server never served List (it answered UNIMPLEMENTED before too).
    /// </summary>
    private static readonly HashSet<string> s_libraryOnly =
        ["grpc.health.v1.HealthListRequest", "grpc.health.v1.HealthListResponse", "grpc.health.v1.Health/List"];

    [Fact]
    public async Task EveryMessageAndServiceMatchesParcaClient()
    {
        var dump = await ExternalProcess.NodeJsonAsync("dump-schema.mjs");
        var ours = new Dictionary<string, MessageDescriptor>();
        foreach (var file in s_files)
        {
            foreach (var m in file.MessageTypes)
            {
                Collect(m, ours);
            }
        }

        var problems = new List<string>();
        var compared = 0;
        foreach (var type in dump.GetProperty("messages").EnumerateObject())
        {
            if (s_libraryOnly.Contains(type.Name))
            {
                continue;
            }

            if (!ours.TryGetValue(type.Name, out var message))
            {
                // Parca does not serve MetastoreService; only its value messages are part of the public API.
                if (!type.Name.StartsWith("parca.metastore.", StringComparison.Ordinal) || type.Name is "parca.metastore.v1alpha1.Location"
                    or "parca.metastore.v1alpha1.Line" or "parca.metastore.v1alpha1.Function" or "parca.metastore.v1alpha1.Mapping")
                {
                    problems.Add($"{type.Name}: missing");
                }

                continue;
            }

            compared++;
            var theirs = type.Value.EnumerateArray().ToDictionary(f => f.GetProperty("no").GetInt32());
            foreach (var field in message.Fields.InFieldNumberOrder())
            {
                if (!theirs.Remove(field.FieldNumber, out var t))
                {
                    if (field.FieldNumber >= OurExtensionFieldsFrom)
                    {
                        continue; // our additions (architecture decision 1: new fields with new numbers, never changed ones)
                    }

                    problems.Add($"{type.Name}.{field.Name} = {field.FieldNumber}: not in Parca's schema");
                    continue;
                }

                var where = $"{type.Name}.{field.Name} = {field.FieldNumber}";
                Check(problems, where, "name", t.GetProperty("name").GetString(), field.Name);
                Check(problems, where, "type", t.GetProperty("type").GetString(), TypeName(field));
                if (!field.IsMap)
                {
                    Check(problems, where, "repeated", t.GetProperty("repeated").GetBoolean(), field.IsRepeated);
                }

                var oneof = field.RealContainingOneof?.Name;
                Check(problems, where, "oneof", t.GetProperty("oneof").ValueKind == JsonValueKind.Null ? null : t.GetProperty("oneof").GetString(), oneof);
                if (field.FieldType != FieldType.Message)
                {
                    Check(problems, where, "proto3 optional", t.GetProperty("optional").GetBoolean(), field.ContainingOneof is { IsSynthetic: true });
                }
            }

            foreach (var missing in theirs.Values)
            {
                problems.Add($"{type.Name}: field {missing.GetProperty("name").GetString()} = {missing.GetProperty("no").GetInt32()} missing");
            }
        }

        var services = s_files.SelectMany(f => f.Services).ToDictionary(s => s.FullName);
        var routes = RestRoutes();
        foreach (var service in dump.GetProperty("services").EnumerateObject())
        {
            if (service.Name == "parca.metastore.v1alpha1.MetastoreService")
            {
                continue;
            }

            if (!services.TryGetValue(service.Name, out var ourService))
            {
                problems.Add($"service {service.Name}: missing");
                continue;
            }

            foreach (var method in service.Value.EnumerateArray())
            {
                var name = method.GetProperty("name").GetString()!;
                if (s_libraryOnly.Contains($"{service.Name}/{name}"))
                {
                    continue;
                }

                var ourMethod = ourService.FindMethodByName(name);
                if (ourMethod is null)
                {
                    problems.Add($"{service.Name}/{name}: missing");
                    continue;
                }

                Check(problems, $"{service.Name}/{name}", "input", method.GetProperty("input").GetString(), ourMethod.InputType.FullName);
                Check(problems, $"{service.Name}/{name}", "output", method.GetProperty("output").GetString(), ourMethod.OutputType.FullName);
                Check(problems, $"{service.Name}/{name}", "client streaming", method.GetProperty("clientStreaming").GetBoolean(), ourMethod.IsClientStreaming);
                Check(problems, $"{service.Name}/{name}", "server streaming", method.GetProperty("serverStreaming").GetBoolean(), ourMethod.IsServerStreaming);
                if (method.GetProperty("http") is { ValueKind: JsonValueKind.Object } http && !ourMethod.IsClientStreaming)
                {
                    var rule = http.EnumerateObject().First(p => p.Name is "get" or "post" or "put" or "delete" or "patch");
                    var expected = rule.Name.ToUpperInvariant() + " " + rule.Value.GetString();
                    routes.TryGetValue($"/{service.Name}/{name}", out var route);
                    Check(problems, $"{service.Name}/{name}", "REST route", expected, route);
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(compared > 80, $"only {compared} messages compared");
    }

    private static void Collect(MessageDescriptor message, Dictionary<string, MessageDescriptor> into)
    {
        if (message.GetOptions()?.MapEntry == true)
        {
            return;
        }

        into[message.FullName] = message;
        foreach (var nested in message.NestedTypes)
        {
            Collect(nested, into);
        }
    }

    private static string TypeName(FieldDescriptor field)
    {
        if (field.IsMap)
        {
            var key = field.MessageType.FindFieldByNumber(1);
            var value = field.MessageType.FindFieldByNumber(2);
            return $"map<{TypeName(key)},{TypeName(value)}>";
        }

        return field.FieldType switch
        {
            FieldType.Enum => "enum:" + field.EnumType.FullName,
            FieldType.Message => "message:" + field.MessageType.FullName,
            FieldType.SFixed32 => "sfixed32",
            FieldType.SFixed64 => "sfixed64",
            FieldType.SInt32 => "sint32",
            FieldType.SInt64 => "sint64",
            FieldType.UInt32 => "uint32",
            FieldType.UInt64 => "uint64",
            FieldType.Fixed32 => "fixed32",
            FieldType.Fixed64 => "fixed64",
            var t => t.ToString().ToLowerInvariant(),
        };
    }

    private static Dictionary<string, string?> RestRoutes()
    {
        var routes = new Dictionary<string, string?>();
        void Add<TReq, TResp>(RpcMethod<TReq, TResp> m)
            where TReq : class, Google.Protobuf.IMessage<TReq>, new()
            where TResp : class, Google.Protobuf.IMessage<TResp>, new() => routes[m.Path] = m.RestRoute;
        Add(ParcaApi.ProfileStore.WriteRaw);
        Add(ParcaApi.ProfileStore.Write);
        Add(ParcaApi.ProfileStore.WriteArrow);
        Add(ParcaApi.Agents.List);
        Add(ParcaApi.QueryService.QueryRange);
        Add(ParcaApi.QueryService.Query);
        Add(ParcaApi.QueryService.Series);
        Add(ParcaApi.QueryService.ProfileTypes);
        Add(ParcaApi.QueryService.Labels);
        Add(ParcaApi.QueryService.Values);
        Add(ParcaApi.QueryService.ShareProfile);
        Add(ParcaApi.QueryService.HasProfileData);
        Add(ParcaApi.Debuginfo.ShouldInitiateUpload);
        Add(ParcaApi.Debuginfo.InitiateUpload);
        Add(ParcaApi.Debuginfo.MarkUploadFinished);
        Add(ParcaApi.Scrape.Targets);
        Add(ParcaApi.Telemetry.ReportPanic);
        return routes;
    }

    private static void Check<T>(List<string> problems, string where, string what, T theirs, T ours)
    {
        if (!EqualityComparer<T>.Default.Equals(theirs, ours))
        {
            problems.Add($"{where}: {what} is {ours} here, {theirs} in Parca");
        }
    }
}
