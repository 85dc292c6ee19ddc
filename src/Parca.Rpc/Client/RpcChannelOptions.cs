namespace Parca.Rpc.Client;

/// <summary>Settings of a client channel; defaults suit the agent and the forwarder talking to a Parca server.</summary>
public sealed class RpcChannelOptions
{
    /// <summary><c>--insecure</c>: cleartext HTTP/2 (h2c, prior knowledge) instead of TLS, for addresses without a scheme.</summary>
    public bool Insecure { get; set; }

    /// <summary><c>--insecure-skip-verify</c>: TLS without checking the server's certificate.</summary>
    public bool InsecureSkipVerify { get; set; }

    /// <summary>PEM CA bundle that must have issued the server's certificate (instead of the system's trust store).</summary>
    public string? TlsCaFile { get; set; }

    /// <summary>PEM client certificate presented in the handshake (mTLS), with <see cref="TlsKeyFile"/>.</summary>
    public string? TlsCertFile { get; set; }

    public string? TlsKeyFile { get; set; }

    /// <summary>Sent as <c>authorization: Bearer ...</c> on every call (<c>--bearer-token</c>).</summary>
    public string? BearerToken { get; set; }

    /// <summary>Metadata sent on every call.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; set; } = [];

    /// <summary>Largest message sent or received (RESOURCE_EXHAUSTED above it). Parca uses 64 MiB.</summary>
    public int MaxMessageSize { get; set; } = 64 * 1024 * 1024;

    /// <summary>gzip-compress request messages (grpc-encoding: gzip).</summary>
    public bool CompressRequests { get; set; }

    /// <summary>HTTP/2 PING interval on an idle or busy connection (detects dead peers behind NATs and proxies).</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Attempts for idempotent calls failing with UNAVAILABLE (1 = no retry).</summary>
    public int MaxAttempts { get; set; } = 4;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Open more connections when one reaches its stream limit (off: everything multiplexes on one).</summary>
    public bool EnableMultipleHttp2Connections { get; set; }

    /// <summary>Replaces the socket handler (tests, custom proxies). The channel does not dispose it.</summary>
    public HttpMessageHandler? Handler { get; set; }
}

/// <summary>Per-call settings.</summary>
public sealed class CallOptions
{
    public static readonly CallOptions Default = new();

    /// <summary>Time allowed for the call (sent as grpc-timeout; DEADLINE_EXCEEDED when it passes).</summary>
    public TimeSpan? Timeout { get; init; }

    public CancellationToken CancellationToken { get; init; }

    /// <summary>Metadata for this call, added to the channel's.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Headers { get; init; }
}
