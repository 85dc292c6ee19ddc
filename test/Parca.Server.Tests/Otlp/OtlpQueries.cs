using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;

namespace Parca.Server.Tests.Otlp;

internal static class OtlpQueries
{
    /// <summary>Every label name the server knows, sorted.</summary>
    public static async Task<List<string>> LabelNamesAsync(ParcaServer server)
    {
        using var channel = RpcChannel.Create(server.BaseAddress.GetLeftPart(UriPartial.Authority));
        var labels = await channel.UnaryAsync(ParcaApi.QueryService.Labels, new LabelsRequest());
        return [.. labels.LabelNames.Order(StringComparer.Ordinal)];
    }

    /// <summary>Values of <paramref name="label"/> over all time, sorted.</summary>
    public static async Task<List<string>> ValuesAsync(ParcaServer server, string label)
    {
        using var channel = RpcChannel.Create(server.BaseAddress.GetLeftPart(UriPartial.Authority));
        var values = await channel.UnaryAsync(ParcaApi.QueryService.Values, new ValuesRequest { LabelName = label });
        return [.. values.LabelValues.Order(StringComparer.Ordinal)];
    }

    /// <summary>A google.rpc.Status body: code (field 1) and message (field 2).</summary>
    public static (int Code, string Message) ParseStatus(byte[] body)
    {
        var input = new Google.Protobuf.CodedInputStream(body);
        var (code, message) = (0, "");
        while (input.ReadTag() is var tag && tag != 0)
        {
            switch (tag >> 3)
            {
                case 1: code = input.ReadInt32(); break;
                case 2: message = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }

        return (code, message);
    }
}
