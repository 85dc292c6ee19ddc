using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc;
using Source = Parca.Protocol.Debuginfo.V1Alpha1.Debuginfo.Types.Source;
using State = Parca.Protocol.Debuginfo.V1Alpha1.DebuginfoUpload.Types.State;

namespace Parca.Server.Debuginfo;

/// <summary>
/// Parca's per-build-id upload state machine (pkg/debuginfo/store.go): whether an agent should upload, the
/// UPLOADING → UPLOADED transition, stale uploads retried after --debuginfo-upload-max-duration (+2 min grace),
/// invalid files replaced by a different hash, and debuginfod preferred when an upstream already has the file.
/// </summary>
internal sealed partial class DebuginfoStore(
    IDebuginfoBucket bucket, DebuginfoMetadata metadata, DebuginfodClient debuginfod, DebuginfoOptions options, TimeProvider time)
{
    internal const string ReasonFirstTime = "First time we see this Build ID, and it does not exist in debuginfod, therefore please upload!";
    internal const string ReasonInDebuginfod = "Debuginfo exists in debuginfod, therefore no upload is necessary.";
    internal const string ReasonInProgress = "A previous upload is still in-progress and not stale yet (only stale uploads can be retried).";
    internal const string ReasonStale = "A previous upload was started but not finished and is now stale, so it can be retried.";
    internal const string ReasonExists = "Debuginfo already exists and is not marked as invalid, therefore no new upload is needed.";
    internal const string ReasonForced = "Debuginfo already exists, but the upload is forced.";
    internal const string ReasonInvalidNewHash = "Debuginfo already exists but is marked as invalid, therefore a new upload is needed. Hash the debuginfo and initiate the upload.";
    internal const string ReasonInvalidSameHash = "Debuginfo already exists and is marked as invalid, but the proposed hash is the same as the one already available, therefore the upload is not accepted as it would result in the same invalid debuginfo.";
    internal const string ReasonPurged = "Debuginfo was purged, therefore a new upload is needed.";
    internal const string ReasonDebuginfodInvalid = "Debuginfo is available from debuginfod but is marked as invalid, therefore a new upload is needed.";

    private readonly SemaphoreSlim _lock = new(1, 1);

    public IDebuginfoBucket Bucket => bucket;

    public DebuginfoMetadata Metadata => metadata;

    /// <summary>Called when an upload finishes, so the symbolizer drops what it knew about the build id.</summary>
    public event Action<string>? Uploaded;

    public async Task<(bool Should, string Reason)> ShouldInitiateUploadAsync(string buildId, string hash, bool force, DebuginfoType type, BuildIDType idType, CancellationToken ct)
    {
        ValidateBuildId(buildId);
        ValidateType(type);
        await _lock.WaitAsync(ct);
        try
        {
            return await DecideAsync(buildId, hash, force, type, idType, ct);
        }
        finally
        {
            _lock.Release();
        }
    }

    private async Task<(bool, string)> DecideAsync(string buildId, string hash, bool force, DebuginfoType type, BuildIDType idType, CancellationToken ct)
    {
        var record = await metadata.FetchAsync(buildId, type, ct);
        if (record is null)
        {
            if (type != DebuginfoType.Sources && idType is BuildIDType.Gnu or BuildIDType.UnknownUnspecified
                && await debuginfod.ExistsAsync(buildId, ct) is { } server)
            {
                var found = new Protocol.Debuginfo.V1Alpha1.Debuginfo { BuildId = buildId, Type = type, Source = Source.Debuginfod };
                found.DebuginfodServers.Add(server);
                await metadata.WriteAsync(found, ct);
                return (false, ReasonInDebuginfod);
            }

            return (true, ReasonFirstTime);
        }

        var invalid = record.Quality?.NotValidElf == true;
        if (record.Source == Source.Debuginfod)
        {
            return invalid ? (true, ReasonDebuginfodInvalid) : (false, ReasonInDebuginfod);
        }

        var upload = record.Upload;
        switch (upload?.State)
        {
            case State.Uploading:
                if (IsStale(upload))
                {
                    return (true, ReasonStale);
                }

                return force ? (true, ReasonForced) : (false, ReasonInProgress);
            case State.Uploaded:
                if (!invalid)
                {
                    return force ? (true, ReasonForced) : (false, ReasonExists);
                }

                return hash.Length == 0 || hash != upload.Hash ? (true, ReasonInvalidNewHash) : (false, ReasonInvalidSameHash);
            default:
                return (true, ReasonPurged);
        }
    }

    private bool IsStale(DebuginfoUpload upload) =>
        upload.StartedAt is null || upload.StartedAt.ToDateTimeOffset() + options.UploadMaxDuration + TimeSpan.FromMinutes(2) < time.GetUtcNow();

    public async Task<UploadInstructions> InitiateUploadAsync(InitiateUploadRequest request, CancellationToken ct)
    {
        ValidateBuildId(request.BuildId);
        ValidateType(request.Type);
        if (request.Hash.Length == 0)
        {
            throw new RpcException(StatusCode.InvalidArgument, "hash must be set");
        }

        if (request.Size <= 0)
        {
            throw new RpcException(StatusCode.InvalidArgument, "size must be set to the size of the file in bytes");
        }

        if (request.Size > options.UploadMaxSize)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"upload size {request.Size} exceeds maximum allowed size {options.UploadMaxSize} (--debuginfo-upload-max-size)");
        }

        await _lock.WaitAsync(ct);
        try
        {
            var (should, reason) = await DecideAsync(request.BuildId, request.Hash, request.Force, request.Type, request.BuildIdType, ct);
            if (!should)
            {
                throw new RpcException(reason == ReasonInvalidSameHash ? StatusCode.AlreadyExists : StatusCode.FailedPrecondition, reason);
            }

            var uploadId = Guid.NewGuid().ToString();
            await metadata.WriteAsync(new Protocol.Debuginfo.V1Alpha1.Debuginfo
            {
                BuildId = request.BuildId,
                Type = request.Type,
                Source = Source.Upload,
                Upload = new DebuginfoUpload { Id = uploadId, Hash = request.Hash, State = State.Uploading, StartedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()) },
            }, ct);
            return new UploadInstructions
            {
                BuildId = request.BuildId,
                UploadId = uploadId,
                UploadStrategy = UploadInstructions.Types.UploadStrategy.Grpc,
                Type = request.Type,
            };
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task MarkUploadFinishedAsync(string buildId, string uploadId, DebuginfoType type, CancellationToken ct)
    {
        ValidateBuildId(buildId);
        ValidateType(type);
        await _lock.WaitAsync(ct);
        try
        {
            var record = await ExpectUploadingAsync(buildId, uploadId, type, ct);
            if (!await bucket.ExistsAsync(DebuginfoMetadata.ObjectKey(buildId, type), ct))
            {
                throw new RpcException(StatusCode.FailedPrecondition, $"build id {buildId}: upload {uploadId} has no data; call Upload before MarkUploadFinished");
            }

            record.Upload.State = State.Uploaded;
            record.Upload.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            record.Quality = null;
            await metadata.WriteAsync(record, ct);
        }
        finally
        {
            _lock.Release();
        }

        if (type != DebuginfoType.Sources)
        {
            Uploaded?.Invoke(buildId); // a source archive changes no symbolization
        }
    }

    /// <summary>Records that the stored file cannot be used (reason shown by ShouldInitiateUpload and the logs).</summary>
    public async Task MarkInvalidAsync(string buildId, DebuginfoType type, string reason, Protocol.Debuginfo.V1Alpha1.Debuginfo.Types.Source source, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            var record = await metadata.FetchAsync(buildId, type, ct)
                ?? new Protocol.Debuginfo.V1Alpha1.Debuginfo { BuildId = buildId, Type = type, Source = source };
            record.Quality = new DebuginfoQuality { NotValidElf = true, NotValidReason = reason };
            await metadata.WriteAsync(record, ct);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Records what a valid file offers (DebuginfoQuality), once it has been opened.</summary>
    public async Task RecordQualityAsync(string buildId, DebuginfoQuality quality, CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            var record = await metadata.FetchAsync(buildId, DebuginfoType.Executable, ct);
            if (record is not null && record.Quality is null)
            {
                record.Quality = quality;
                await metadata.WriteAsync(record, ct);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    internal async Task<Protocol.Debuginfo.V1Alpha1.Debuginfo> ExpectUploadingAsync(string buildId, string uploadId, DebuginfoType type, CancellationToken ct)
    {
        var record = await metadata.FetchAsync(buildId, type, ct)
            ?? throw new RpcException(StatusCode.FailedPrecondition, $"build id {buildId}: no upload was initiated (call InitiateUpload first)");
        if (record.Source != Source.Upload || record.Upload is null || record.Upload.State != State.Uploading)
        {
            throw new RpcException(StatusCode.FailedPrecondition, $"build id {buildId}: no upload in progress (state {record.Upload?.State.ToString() ?? "none"}, source {record.Source})");
        }

        if (record.Upload.Id != uploadId)
        {
            throw new RpcException(StatusCode.FailedPrecondition, $"build id {buildId}: upload id {uploadId} does not match the upload in progress");
        }

        return record;
    }

    /// <summary>Build ids become object keys: only what cannot escape the bucket's directory is accepted.</summary>
    internal static bool IsValidBuildId(string buildId)
    {
        if (buildId.Length is <= 2 or > 256)
        {
            return false;
        }

        foreach (var c in buildId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    internal static void ValidateBuildId(string buildId)
    {
        if (buildId.Length <= 2)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"invalid build id '{buildId}': it must be longer than 2 characters");
        }

        foreach (var c in buildId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                throw new RpcException(StatusCode.InvalidArgument, $"invalid build id '{buildId}': only letters, digits, '-' and '_' are accepted");
            }
        }

        if (buildId.Length > 256)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"invalid build id: {buildId.Length} characters (at most 256)");
        }
    }

    private static void ValidateType(DebuginfoType type)
    {
        if (type is not (DebuginfoType.DebuginfoUnspecified or DebuginfoType.Executable or DebuginfoType.Sources))
        {
            throw new RpcException(StatusCode.InvalidArgument, $"debuginfo type {type} is not supported (executable or sources)");
        }
    }
}
