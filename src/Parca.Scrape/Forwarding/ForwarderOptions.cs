namespace Parca.Scrape.Forwarding;

/// <summary>Settings of the forwarder: the server maps its <c>--store-address</c>, <c>--store-tls-*</c>, <c>--bearer-token*</c>,
/// <c>--external-label</c> and <c>--grpc-max-message-size</c> flags onto them.</summary>
public sealed class ForwarderOptions
{
    public string StoreAddress { get; set; } = "";

    public bool Insecure { get; set; }

    public bool InsecureSkipVerify { get; set; }

    public string? BearerToken { get; set; }

    /// <summary>--store-tls-ca-file, --store-tls-cert-file, --store-tls-key-file.</summary>
    public string? TlsCaFile { get; set; }

    public string? TlsCertFile { get; set; }

    public string? TlsKeyFile { get; set; }

    public IReadOnlyList<KeyValuePair<string, string>> ExternalLabels { get; set; } = [];

    public int MaxMessageSize { get; set; } = 64 * 1024 * 1024;

    /// <summary>At most this many profiles wait for the store (besides the batch being sent).</summary>
    public int MaxQueuedProfiles { get; set; } = 10_000;

    /// <summary>At most this many bytes of profiles wait for the store (besides the batch being sent, up to 8 MiB).</summary>
    public long MaxQueuedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>At shutdown, how long queued profiles may still be delivered before they are given up.</summary>
    public TimeSpan ShutdownFlushTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Tests can route the channel through their own handler.</summary>
    public HttpMessageHandler? Handler { get; set; }
}
