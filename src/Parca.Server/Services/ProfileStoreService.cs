using Parca.Ingest.Arrow;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Server;
using StorageExecutableInfo = Parca.Storage.Ingest.ExecutableInfo;

namespace Parca.Server.Services;

/// <summary>
/// parca.profilestore.v1alpha1.ProfileStoreService: WriteRaw with Parca's rules (see <see cref="ProfileWriter"/>),
/// and the Apache Arrow protocols of Parca Agent v0.32 and later: WriteArrow (v2 records) and the v1 Write exchange (see <see cref="ArrowIngest"/>, <see cref="V1Exchange"/>).
/// </summary>
internal sealed partial class ProfileStoreService(ProfileWriter writer, ArrowIngest arrow, AgentRegistry agents) : IRpcService
{
    public void Register(RpcServiceBuilder builder)
    {
        // WriteRaw and WriteArrow keep no request memory after they return (ProfileWriter.Write and
        // ArrowIngest.WriteArrow read it synchronously), so their bytes can alias the received frame instead of being
        // copied (BorrowingParsers).
        builder.MapUnary(ParcaApi.ProfileStore.WriteRaw, WriteRaw, BorrowingParsers.WriteRawRequest);
        builder.MapUnary(ParcaApi.ProfileStore.WriteArrow, WriteArrow, BorrowingParsers.WriteArrowRequest);
        builder.MapDuplexStreaming(ParcaApi.ProfileStore.Write, Write);
    }

    private ValueTask<WriteRawResponse> WriteRaw(WriteRawRequest request, RpcCallContext context)
    {
        var series = new List<WriteSeries>(request.Series.Count);
        string? node = null;
        foreach (var s in request.Series)
        {
            var labels = new List<KeyValuePair<string, string>>(s.Labels?.Labels.Count ?? 0);
            foreach (var l in s.Labels?.Labels ?? [])
            {
                labels.Add(new(l.Name, l.Value));
                if (l.Name == "node")
                {
                    node ??= l.Value;
                }
            }

            var samples = new List<WriteSample>(s.Samples.Count);
            foreach (var raw in s.Samples)
            {
                List<StorageExecutableInfo>? exec = null;
                if (raw.ExecutableInfo.Count > 0)
                {
                    exec = new List<StorageExecutableInfo>(raw.ExecutableInfo.Count);
                    foreach (var e in raw.ExecutableInfo)
                    {
                        exec.Add(new StorageExecutableInfo(e.ElfType, e.LoadSegment?.Offset ?? 0, e.LoadSegment?.Vaddr ?? 0));
                    }
                }

                samples.Add(new WriteSample(raw.RawProfile.Memory, exec));
            }

            series.Add(new WriteSeries(labels, samples));
        }

        var started = DateTime.UtcNow;
        try
        {
            writer.Write(series);
            if (series.Count > 0)
            {
                agents.Record(node, context.Peer?.Address.ToString(), started, DateTime.UtcNow - started, null);
            }
        }
        catch (IngestError e)
        {
            agents.Record(node, context.Peer?.Address.ToString(), started, DateTime.UtcNow - started, e.Message);
            throw new RpcException(e.Status, e.Message);
        }

        return ValueTask.FromResult(new WriteRawResponse());
    }
}
