using Parca.Rpc;

namespace Parca.Ingest;

/// <summary>A rejected write: what was wrong and where (series/sample index). Resource limits are flagged.</summary>
internal sealed class IngestError : Exception
{
    public IngestError(string message, bool isLimit = false)
        : base(message) => IsLimit = isLimit;

    public IngestError(string message, IngestErrorKind kind)
        : base(message) => Kind = kind;

    /// <summary>Why the write was refused beyond bad input: the storage cannot take it now (retry later).</summary>
    public IngestErrorKind Kind { get; }

    public IngestError()
    {
    }

    public IngestError(string message)
        : base(message)
    {
    }

    public IngestError(string message, Exception inner)
        : base(message, inner)
    {
    }

    public bool IsLimit { get; }

    /// <summary>The gRPC status a client gets for this refusal (every ingest RPC maps it the same way).</summary>
    public StatusCode Status => Kind switch
    {
        IngestErrorKind.DiskFull or IngestErrorKind.Busy => StatusCode.ResourceExhausted,
        IngestErrorKind.Unavailable => StatusCode.Unavailable,
        _ => IsLimit ? StatusCode.ResourceExhausted : StatusCode.InvalidArgument,
    };
}

/// <summary>Refusals that are about the server's storage, not the request.</summary>
internal enum IngestErrorKind
{
    /// <summary>Bad input (or a request limit, see <see cref="IngestError.IsLimit"/>).</summary>
    Input,

    /// <summary>The disk under the storage path is full (gRPC RESOURCE_EXHAUSTED, HTTP 507).</summary>
    DiskFull,

    /// <summary>Head memory bound reached while compaction is behind (gRPC RESOURCE_EXHAUSTED, HTTP 503).</summary>
    Busy,

    /// <summary>The storage path cannot be written for another reason (gRPC UNAVAILABLE, HTTP 503).</summary>
    Unavailable,
}
