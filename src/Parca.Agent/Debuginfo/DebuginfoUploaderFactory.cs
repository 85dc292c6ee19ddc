using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Rpc.Client;

namespace Parca.Agent.Debuginfo;

/// <summary>Builds the uploader from the agent's flags (same server, token and TLS settings as the profile shipping).</summary>
internal static class DebuginfoUploaderFactory
{
    public static DebuginfoUploader Create(ParcaAgentOptions options, RpcChannelOptions channelOptions, ILogger log)
    {
        var channel = GrpcChannels.Create(options.RemoteStoreAddress!, channelOptions);
        return new DebuginfoUploader(new DebuginfoService.DebuginfoServiceClient(channel), new DebuginfoUploadOptions
        {
            Directories = options.DebuginfoDirectories,
            TempDirectory = options.DebuginfoTempDir,
            Strip = options.DebuginfoStrip,
            Compress = options.DebuginfoCompress,
            MaxParallel = options.DebuginfoUploadMaxParallel,
            Timeout = options.DebuginfoUploadTimeout,
            CacheDuration = options.DebuginfoUploadCacheDuration,
            DisableCaching = options.DebuginfoDisableCaching,
        }, log, TimeProvider.System);
    }

    public static void Enqueue(DebuginfoUploader? uploader, string procRoot, int pid, ObjectFile file)
    {
        if (uploader is not null && file.BuildId is { } id && file.Handle is { IsClosed: false } handle)
        {
            uploader.Enqueue(id, handle, file.Path, $"{procRoot}/{pid}/root");
        }
    }
}
