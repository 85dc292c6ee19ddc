using Microsoft.Extensions.Logging;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Server;

namespace Parca.Server.Debuginfo;

/// <summary>
/// parca.debuginfo.v1alpha1.DebuginfoService: ShouldInitiateUpload → InitiateUpload → Upload (client stream: info,
/// then chunks) → MarkUploadFinished. Uploads stream into the bucket (never held whole in memory), are refused past
/// --debuginfo-upload-max-size or --debuginfo-upload-max-duration, and a failed upload leaves no object behind.
/// </summary>
internal sealed class DebuginfoService(DebuginfoStore store, DebuginfoOptions options, TimeProvider time, ILoggerFactory logs) : IRpcService
{
    private readonly ILogger _log = logs.CreateLogger("Parca.Debuginfo");

    public void Register(RpcServiceBuilder builder)
    {
        builder.MapUnary(ParcaApi.Debuginfo.ShouldInitiateUpload, ShouldInitiateUpload);
        builder.MapUnary(ParcaApi.Debuginfo.InitiateUpload, InitiateUpload);
        builder.MapClientStreaming(ParcaApi.Debuginfo.Upload, Upload);
        builder.MapUnary(ParcaApi.Debuginfo.MarkUploadFinished, MarkUploadFinished);
    }

    private async ValueTask<ShouldInitiateUploadResponse> ShouldInitiateUpload(ShouldInitiateUploadRequest request, RpcCallContext context)
    {
        var (should, reason) = await store.ShouldInitiateUploadAsync(request.BuildId, request.Hash, request.Force, request.Type, request.BuildIdType, context.CancellationToken);
        if (!should && reason == DebuginfoStore.ReasonInvalidSameHash || should && reason == DebuginfoStore.ReasonInvalidNewHash)
        {
            var record = await store.Metadata.FetchAsync(request.BuildId, request.Type, context.CancellationToken);
            if (record?.Quality?.NotValidReason is { Length: > 0 } why)
            {
                reason += " Reason: " + why;
            }
        }

        return new ShouldInitiateUploadResponse { ShouldInitiateUpload = should, Reason = reason };
    }

    private async ValueTask<InitiateUploadResponse> InitiateUpload(InitiateUploadRequest request, RpcCallContext context) =>
        new() { UploadInstructions = await store.InitiateUploadAsync(request, context.CancellationToken) };

    private async ValueTask<MarkUploadFinishedResponse> MarkUploadFinished(MarkUploadFinishedRequest request, RpcCallContext context)
    {
        await store.MarkUploadFinishedAsync(request.BuildId, request.UploadId, request.Type, context.CancellationToken);
        return new MarkUploadFinishedResponse();
    }

    private async ValueTask<UploadResponse> Upload(IAsyncEnumerable<UploadRequest> requests, RpcCallContext context)
    {
        var ct = context.CancellationToken;
        await using var messages = requests.GetAsyncEnumerator(ct);
        if (!await messages.MoveNextAsync() || messages.Current.DataCase != UploadRequest.DataOneofCase.Info)
        {
            throw new RpcException(StatusCode.InvalidArgument, "the first Upload message must carry info (build_id, upload_id, type)");
        }

        var info = messages.Current.Info;
        DebuginfoStore.ValidateBuildId(info.BuildId);
        var record = await store.ExpectUploadingAsync(info.BuildId, info.UploadId, info.Type, ct);
        var deadline = record.Upload.StartedAt.ToDateTimeOffset() + options.UploadMaxDuration;
        if (time.GetUtcNow() > deadline)
        {
            throw new RpcException(StatusCode.DeadlineExceeded, $"build id {info.BuildId}: upload {info.UploadId} started at {record.Upload.StartedAt} is past --debuginfo-upload-max-duration ({options.UploadMaxDuration}); initiate a new upload");
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(deadline - time.GetUtcNow());
        var chunks = new UploadChunkStream(messages, options.UploadMaxSize);
        long size;
        try
        {
            size = await store.Bucket.PutAsync(DebuginfoMetadata.ObjectKey(info.BuildId, info.Type), chunks, timeout.Token);
        }
        catch (UploadTooLargeException)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"build id {info.BuildId}: upload exceeds --debuginfo-upload-max-size ({options.UploadMaxSize} bytes); nothing was stored");
        }
        catch (UnexpectedUploadMessageException)
        {
            throw new RpcException(StatusCode.InvalidArgument, $"build id {info.BuildId}: only chunk_data may follow the first (info) message");
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new RpcException(StatusCode.DeadlineExceeded, $"build id {info.BuildId}: upload did not finish within --debuginfo-upload-max-duration ({options.UploadMaxDuration}); nothing was stored");
        }

        DebuginfoLog.Uploaded(_log, info.BuildId, size);
        return new UploadResponse { BuildId = info.BuildId, Size = (ulong)size };
    }
}
