using Parca.Agent.Processes;

namespace Parca.Agent.Interpreters;

/// <summary>
/// Detection reads symbols from files of the shared pool, which closes a file's handle when it evicts it (many new
/// processes at once). The handle is referenced for the read, so an eviction meanwhile waits for it; a file whose
/// handle was closed before the read is fetched once more (the pool opens it again).
/// </summary>
internal static class ObjectFileLease
{
    public static T Use<T>(Func<ObjectFile?> open, Func<ObjectFile, T> use, T none)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (open() is not { Handle: { } handle } file)
            {
                return none;
            }

            var added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                return use(file);
            }
            catch (ObjectDisposedException) when (attempt == 0 && !added)
            {
                // closed by an eviction before the read began: fetch it again
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
    }
}
