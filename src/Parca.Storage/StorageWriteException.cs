namespace Parca.Storage;

/// <summary>
/// A write to the storage path failed, and nothing of it was kept. <see cref="DiskFull"/> says whether the file
/// system ran out of space (the caller refuses with "disk full", a condition that passes once space returns);
/// the message never names the path, because it goes to clients.
/// </summary>
public sealed class StorageWriteException : IOException
{
    public StorageWriteException(IOException inner)
        : base(IsDiskFull(inner) ? "disk full on the storage path" : "the storage path cannot be written", inner) => DiskFull = IsDiskFull(inner);

    public bool DiskFull { get; }

    /// <summary>ENOSPC (28) or EDQUOT (122) on Linux; ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(Exception e) => e is IOException && (e.HResult & 0xFFFF) is 28 or 122 or 0x70 or 0x27;
}
