namespace Parca.Storage;

/// <summary>
/// Ingest is refused because the head and the heads waiting for compaction reached
/// <see cref="StorageOptions.HeadMemoryLimitBytes"/>: memory stays bounded while compaction cannot make progress.
/// The message goes to clients (no paths).
/// </summary>
public class StorageBusyException : Exception
{
    public StorageBusyException(string message)
        : base(message)
    {
    }

    /// <summary>A refusal whose cause is outside this server (the bucket is unreachable): gRPC UNAVAILABLE, not RESOURCE_EXHAUSTED.</summary>
    public StorageBusyException(string message, bool unavailable)
        : base(message) => Unavailable = unavailable;

    public bool Unavailable { get; }

    public StorageBusyException()
    {
    }

    public StorageBusyException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
