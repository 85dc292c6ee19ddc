using Grpc.Health.V1;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Protocol.Scrape.V1Alpha1;
using Parca.Protocol.Telemetry.V1Alpha1;
using Share = Parca.Protocol.Share.V1Alpha1;

namespace Parca.Rpc;

/// <summary>
/// Every RPC of Parca's public API, with the REST routes Parca's grpc-gateway serves under <c>/api</c>.
/// Servers register handlers for these (<c>builder.MapUnary(ParcaApi.QueryService.ProfileTypes, handler)</c>),
/// clients call them (<c>channel.UnaryAsync(ParcaApi.QueryService.ProfileTypes, request)</c>).
/// </summary>
public static class ParcaApi
{
    /// <summary>(service, method) of every idempotent method above: clients retry these on UNAVAILABLE.</summary>
    public static IReadOnlyList<(string Service, string Method)> IdempotentMethods { get; } =
    [
        (Agents.Service, "Agents"),
        (QueryService.Service, "QueryRange"), (QueryService.Service, "Query"), (QueryService.Service, "Series"),
        (QueryService.Service, "ProfileTypes"), (QueryService.Service, "Labels"), (QueryService.Service, "Values"),
        (QueryService.Service, "HasProfileData"),
        (Debuginfo.Service, "ShouldInitiateUpload"),
        (Scrape.Service, "Targets"),
        (ShareService.Service, "Query"), (ShareService.Service, "ProfileTypes"),
        (Health.Service, "Check"),
    ];

    public static class ProfileStore
    {
        public const string Service = "parca.profilestore.v1alpha1.ProfileStoreService";

        public static readonly RpcMethod<WriteRawRequest, WriteRawResponse> WriteRaw =
            new(Service, "WriteRaw", MethodType.Unary, "POST /profiles/writeraw");

        public static readonly RpcMethod<WriteRequest, WriteResponse> Write =
            new(Service, "Write", MethodType.DuplexStreaming);

        public static readonly RpcMethod<WriteArrowRequest, WriteArrowResponse> WriteArrow =
            new(Service, "WriteArrow", MethodType.Unary, "POST /profiles/writearrow");
    }

    /// <summary>OpenTelemetry profiles ingest (opentelemetry-proto v1.10.0; HTTP/protobuf at <c>POST /v1development/profiles</c>).</summary>
    public static class OtlpProfiles
    {
        public const string Service = "opentelemetry.proto.collector.profiles.v1development.ProfilesService";

        public static readonly RpcMethod<OpenTelemetry.Proto.Collector.Profiles.V1Development.ExportProfilesServiceRequest, OpenTelemetry.Proto.Collector.Profiles.V1Development.ExportProfilesServiceResponse> Export =
            new(Service, "Export", MethodType.Unary);
    }

    public static class Agents
    {
        public const string Service = "parca.profilestore.v1alpha1.AgentsService";

        public static readonly RpcMethod<AgentsRequest, AgentsResponse> List =
            new(Service, "Agents", MethodType.Unary, "GET /agents", idempotent: true);
    }

    public static class QueryService
    {
        public const string Service = "parca.query.v1alpha1.QueryService";

        public static readonly RpcMethod<QueryRangeRequest, QueryRangeResponse> QueryRange =
            new(Service, "QueryRange", MethodType.Unary, "GET /profiles/query_range", idempotent: true);

        public static readonly RpcMethod<QueryRequest, QueryResponse> Query =
            new(Service, "Query", MethodType.Unary, "GET /profiles/query", idempotent: true);

        public static readonly RpcMethod<SeriesRequest, SeriesResponse> Series =
            new(Service, "Series", MethodType.Unary, "GET /profiles/series", idempotent: true);

        public static readonly RpcMethod<ProfileTypesRequest, ProfileTypesResponse> ProfileTypes =
            new(Service, "ProfileTypes", MethodType.Unary, "GET /profiles/types", idempotent: true);

        public static readonly RpcMethod<LabelsRequest, LabelsResponse> Labels =
            new(Service, "Labels", MethodType.Unary, "GET /profiles/labels", idempotent: true);

        public static readonly RpcMethod<ValuesRequest, ValuesResponse> Values =
            new(Service, "Values", MethodType.Unary, "GET /profiles/labels/{label_name}/values", idempotent: true);

        public static readonly RpcMethod<ShareProfileRequest, ShareProfileResponse> ShareProfile =
            new(Service, "ShareProfile", MethodType.Unary, "POST /profiles/share");

        public static readonly RpcMethod<HasProfileDataRequest, HasProfileDataResponse> HasProfileData =
            new(Service, "HasProfileData", MethodType.Unary, "GET /profiles/has_profile_data", idempotent: true);
    }

    public static class Debuginfo
    {
        public const string Service = "parca.debuginfo.v1alpha1.DebuginfoService";

        public static readonly RpcMethod<UploadRequest, UploadResponse> Upload =
            new(Service, "Upload", MethodType.ClientStreaming);

        public static readonly RpcMethod<ShouldInitiateUploadRequest, ShouldInitiateUploadResponse> ShouldInitiateUpload =
            new(Service, "ShouldInitiateUpload", MethodType.Unary, "POST /shouldinitiateupload", idempotent: true);

        public static readonly RpcMethod<InitiateUploadRequest, InitiateUploadResponse> InitiateUpload =
            new(Service, "InitiateUpload", MethodType.Unary, "POST /initiateupload");

        public static readonly RpcMethod<MarkUploadFinishedRequest, MarkUploadFinishedResponse> MarkUploadFinished =
            new(Service, "MarkUploadFinished", MethodType.Unary, "POST /markuploadfinished");
    }

    public static class Scrape
    {
        public const string Service = "parca.scrape.v1alpha1.ScrapeService";

        public static readonly RpcMethod<TargetsRequest, TargetsResponse> Targets =
            new(Service, "Targets", MethodType.Unary, "GET /targets", idempotent: true);
    }

    public static class Telemetry
    {
        public const string Service = "parca.telemetry.v1alpha1.TelemetryService";

        public static readonly RpcMethod<ReportPanicRequest, ReportPanicResponse> ReportPanic =
            new(Service, "ReportPanic", MethodType.Unary, "POST /telemetry/panic");
    }

    /// <summary>pprof.me's API: Parca is only a client (ShareProfile uploads there).</summary>
    public static class ShareService
    {
        public const string Service = "parca.share.v1alpha1.ShareService";

        public static readonly RpcMethod<Share.UploadRequest, Share.UploadResponse> Upload =
            new(Service, "Upload", MethodType.Unary);

        public static readonly RpcMethod<Share.QueryRequest, Share.QueryResponse> Query =
            new(Service, "Query", MethodType.Unary, idempotent: true);

        public static readonly RpcMethod<Share.ProfileTypesRequest, Share.ProfileTypesResponse> ProfileTypes =
            new(Service, "ProfileTypes", MethodType.Unary, idempotent: true);
    }

    /// <summary>gRPC server reflection, v1 and the older v1alpha (grpcurl and other tools try v1 first).</summary>
    public static class Reflection
    {
        public const string ServiceV1 = "grpc.reflection.v1.ServerReflection";
        public const string ServiceV1Alpha = "grpc.reflection.v1alpha.ServerReflection";

        public static readonly RpcMethod<Grpc.Reflection.V1.ServerReflectionRequest, Grpc.Reflection.V1.ServerReflectionResponse> InfoV1 =
            new(ServiceV1, "ServerReflectionInfo", MethodType.DuplexStreaming);

        /// <summary>Same messages as v1 (reflection/v1alpha/reflection.proto declares it with them).</summary>
        public static readonly RpcMethod<Grpc.Reflection.V1.ServerReflectionRequest, Grpc.Reflection.V1.ServerReflectionResponse> InfoV1Alpha =
            new(ServiceV1Alpha, "ServerReflectionInfo", MethodType.DuplexStreaming);
    }

    /// <summary>
    /// The .proto files of every service above (and of pprof), as compiled into Parca.Protocol: what server
    /// reflection describes. Their dependencies (google/protobuf/*.proto) are reachable through
    /// <see cref="Google.Protobuf.Reflection.FileDescriptor.Dependencies"/>.
    /// </summary>
    public static IReadOnlyList<Google.Protobuf.Reflection.FileDescriptor> Files { get; } =
    [
        ProfilestoreReflection.Descriptor,
        QueryReflection.Descriptor,
        ScrapeReflection.Descriptor,
        DebuginfoReflection.Descriptor,
        Share.ShareReflection.Descriptor,
        TelemetryReflection.Descriptor,
        Protocol.Metastore.V1Alpha1.MetastoreReflection.Descriptor,
        Protocol.Pprof.ProfileReflection.Descriptor,
        OpenTelemetry.Proto.Collector.Profiles.V1Development.ProfilesServiceReflection.Descriptor,
        HealthReflection.Descriptor,
        Grpc.Reflection.V1.ReflectionReflection.Descriptor,
        Grpc.Reflection.V1Alpha.ReflectionReflection.Descriptor,
    ];

    public static class Health
    {
        public const string Service = "grpc.health.v1.Health";

        public static readonly RpcMethod<HealthCheckRequest, HealthCheckResponse> Check =
            new(Service, "Check", MethodType.Unary, idempotent: true);
    }
}
