namespace Parca.Server.Debuginfo;

/// <summary>
/// Where uploaded debug files, their metadata and debuginfod downloads are kept, by key (<c>&lt;build id&gt;/debuginfo</c>,
/// <c>&lt;build id&gt;/metadata</c>, <c>debuginfod-cache/&lt;build id&gt;/debuginfo</c>). Deliberately small so an object
/// store (S3) can stand behind it: whole objects, streamed, written atomically (a reader never sees half an object).
/// </summary>
public interface IDebuginfoBucket
{
    /// <summary>Stores <paramref name="content"/> under <paramref name="key"/>, replacing what was there; returns the bytes written.</summary>
    Task<long> PutAsync(string key, Stream content, CancellationToken cancellationToken);

    /// <summary>The object's content, or null when there is none. The caller disposes the stream.</summary>
    Task<Stream?> GetAsync(string key, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string key, CancellationToken cancellationToken);

    Task DeleteAsync(string key, CancellationToken cancellationToken);
}
