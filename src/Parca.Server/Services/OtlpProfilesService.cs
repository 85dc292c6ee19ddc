using OpenTelemetry.Proto.Collector.Profiles.V1Development;
using Parca.Ingest.Otlp;
using Parca.Rpc;
using Parca.Rpc.Server;

namespace Parca.Server.Services;

/// <summary>
/// <c>opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export</c> on the server's one port (gRPC,
/// gRPC-Web and Connect); the HTTP/protobuf form is <see cref="OtlpHttp"/>. A request is all-or-nothing, so the
/// response never reports a partial success: refused input is INVALID_ARGUMENT naming the field, limits
/// RESOURCE_EXHAUSTED naming the flag.
/// </summary>
internal sealed class OtlpProfilesService(OtlpIngest ingest, AgentRegistry agents) : IRpcService
{
    public void Register(RpcServiceBuilder builder) => builder.MapUnary(ParcaApi.OtlpProfiles.Export, Export);

    private ValueTask<ExportProfilesServiceResponse> Export(ExportProfilesServiceRequest request, RpcCallContext context)
    {
        var started = DateTime.UtcNow;
        try
        {
            ingest.Export(request);
            agents.Record(null, context.Peer?.Address.ToString(), started, DateTime.UtcNow - started, null);
        }
        catch (IngestError e)
        {
            agents.Record(null, context.Peer?.Address.ToString(), started, DateTime.UtcNow - started, e.Message);
            throw new RpcException(e.Status, e.Message);
        }

        return ValueTask.FromResult(new ExportProfilesServiceResponse());
    }
}
