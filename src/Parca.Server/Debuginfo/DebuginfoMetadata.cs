using System.Text;
using Google.Protobuf;
using Parca.Protocol.Debuginfo.V1Alpha1;

namespace Parca.Server.Debuginfo;

/// <summary>
/// Per build id and type, the <see cref="Protocol.Debuginfo.V1Alpha1.Debuginfo"/> record (source, upload state,
/// quality) kept in the bucket next to the object as protojson, as Parca does (<c>&lt;id&gt;/metadata</c>,
/// <c>&lt;id&gt;/sources.metadata</c>). Updates of one build id are serialized by the caller.
/// </summary>
internal sealed class DebuginfoMetadata(IDebuginfoBucket bucket)
{
    private static readonly JsonFormatter s_formatter = new(JsonFormatter.Settings.Default.WithIndentation());
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    public static string ObjectKey(string buildId, DebuginfoType type) =>
        type == DebuginfoType.Sources ? $"{buildId}/sources" : $"{buildId}/debuginfo";

    private static string MetadataKey(string buildId, DebuginfoType type) =>
        type == DebuginfoType.Sources ? $"{buildId}/sources.metadata" : $"{buildId}/metadata";

    public async Task<Protocol.Debuginfo.V1Alpha1.Debuginfo?> FetchAsync(string buildId, DebuginfoType type, CancellationToken cancellationToken)
    {
        await using var stream = await bucket.GetAsync(MetadataKey(buildId, type), cancellationToken);
        if (stream is null)
        {
            return null;
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var json = await reader.ReadToEndAsync(cancellationToken);
        try
        {
            return s_parser.Parse<Protocol.Debuginfo.V1Alpha1.Debuginfo>(json);
        }
        catch (InvalidProtocolBufferException)
        {
            return null; // an unreadable record is treated as none: the next upload rewrites it
        }
    }

    public async Task WriteAsync(Protocol.Debuginfo.V1Alpha1.Debuginfo record, CancellationToken cancellationToken)
    {
        var bytes = Encoding.UTF8.GetBytes(s_formatter.Format(record) + "\n");
        using var content = new MemoryStream(bytes, writable: false);
        await bucket.PutAsync(MetadataKey(record.BuildId, record.Type), content, cancellationToken);
    }
}
