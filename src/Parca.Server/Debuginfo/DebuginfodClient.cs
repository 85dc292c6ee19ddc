using System.Collections.Concurrent;
using System.Net;

namespace Parca.Server.Debuginfo;

/// <summary>
/// Client of debuginfod upstreams (--debuginfod-upstream-servers, in order of precedence): <c>GET
/// /buildid/&lt;id&gt;/debuginfo</c>, 404 meaning "not here", each request bounded by
/// --debuginfod-http-request-timeout. "Nobody has it" is remembered for <see cref="DebuginfoOptions.DebuginfodNegativeCacheDuration"/>
/// so a profile full of unknown build ids does not ask the upstreams on every query.
/// </summary>
internal sealed class DebuginfodClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly IReadOnlyList<Uri> _servers;
    private readonly TimeSpan _negativeFor;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _missing = new(StringComparer.Ordinal);

    public DebuginfodClient(DebuginfoOptions options, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.Timeout = options.DebuginfodTimeout;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("parca-dotnet-debuginfod-client/" + Hosting.ParcaVersion.Version);
        _servers = options.DebuginfodServers.Where(s => s.Length > 0).Select(ServerUri).ToList();
        _negativeFor = options.DebuginfodNegativeCacheDuration;
        _time = time;
    }

    public bool Enabled => _servers.Count > 0;

    /// <summary>"debuginfod.elfutils.org" (Parca's spelling) means https; a full URL is taken as is.</summary>
    internal static Uri ServerUri(string server)
    {
        var text = server.Contains("://", StringComparison.Ordinal) ? server : "https://" + server;
        return new Uri(text.EndsWith('/') ? text : text + "/");
    }

    /// <summary>The first upstream that has the debug file, or null.</summary>
    public async Task<string?> ExistsAsync(string buildId, CancellationToken ct)
    {
        var found = await OpenAsync(buildId, ct);
        if (found is null)
        {
            return null;
        }

        found.Value.Response.Dispose();
        return found.Value.Server;
    }

    /// <summary>The debug file's response from the first upstream that has it (the caller disposes it), or null.</summary>
    public async Task<(string Server, HttpResponseMessage Response)?> OpenAsync(string buildId, CancellationToken ct)
    {
        if (_servers.Count == 0 || (_missing.TryGetValue(buildId, out var until) && until > _time.GetUtcNow()))
        {
            return null;
        }

        foreach (var server in _servers)
        {
            HttpResponseMessage? response = null;
            try
            {
                response = await _http.GetAsync(new Uri(server, $"buildid/{buildId}/debuginfo"), HttpCompletionOption.ResponseHeadersRead, ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return (server.ToString().TrimEnd('/'), response);
                }
            }
            catch (HttpRequestException)
            {
                // an unreachable upstream is a miss for this build id; the next one may have it
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                // request timeout (--debuginfod-http-request-timeout)
            }

            response?.Dispose();
        }

        _missing[buildId] = _time.GetUtcNow() + _negativeFor;
        return null;
    }

    /// <summary>Forgets a remembered miss (an upload arrived, or a test wants a fresh answer).</summary>
    public void Forget(string buildId) => _missing.TryRemove(buildId, out _);

    public void Dispose() => _http.Dispose();
}
