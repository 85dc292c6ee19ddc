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

    public StorageBusyException()
    {
    }

    public StorageBusyException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
