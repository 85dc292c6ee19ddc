namespace Parca.Storage.Buckets;

/// <summary>
/// Settings of an S3 bucket, named as in Parca's and Thanos' <c>object_storage.bucket.config</c> for <c>type: S3</c>.
/// Empty keys mean the AWS SDK's usual sources (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the rest).
/// </summary>
public sealed class S3BucketOptions
{
    public string Bucket { get; set; } = "";

    /// <summary>host[:port] (Thanos style) or a full URL; empty: AWS for <see cref="Region"/>.</summary>
    public string Endpoint { get; set; } = "";

    public string Region { get; set; } = "us-east-1";

    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Plain HTTP to the endpoint (Thanos' <c>insecure</c>).</summary>
    public bool Insecure { get; set; }

    /// <summary>Bucket name in the path instead of the host name (needed by most self-hosted stores, radosgw too).</summary>
    public bool PathStyle { get; set; }

    /// <summary>Key prefix inside the bucket (parca.yaml <c>object_storage.bucket.prefix</c>).</summary>
    public string Prefix { get; set; } = "";

    /// <summary>One request's time limit (the SDK retries with back-off within it).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Objects larger than this are uploaded in parts of this size (S3 multipart upload).</summary>
    public int PartSize { get; set; } = 16 << 20;
}
