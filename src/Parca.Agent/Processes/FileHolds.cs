namespace Parca.Agent.Processes;

/// <summary>
/// The object files one captured process maps, held open in the <see cref="ObjectFileCache"/> while the agent knows
/// the process (alive, or exited with samples still to name). Released when the process table forgets the process;
/// afterwards nothing more is held for it. Guarded by the cache's lock.
/// </summary>
internal sealed class FileHolds
{
    internal HashSet<ObjectFile> Files { get; } = [];

    internal bool Released { get; set; }

    public int Count => Files.Count;
}
