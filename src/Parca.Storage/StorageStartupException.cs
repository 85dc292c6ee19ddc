namespace Parca.Storage;

/// <summary>The store cannot start as configured (not because of damaged data, which is quarantined): the message says why and what to do.</summary>
public sealed class StorageStartupException : Exception
{
    public StorageStartupException(string message)
        : base(message)
    {
    }

    public StorageStartupException()
    {
    }

    public StorageStartupException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
