namespace Parca.Agent.Unwinding;

/// <summary>
/// The default size of the BPF rows array (--dwarf-unwinding-max-rows=0): 1/256 of the memory available to the agent
/// (the cgroup limit when there is one), between 1 Mi and 16 Mi rows (12 to 192 MiB of kernel memory, allocated
/// once at start). A fixed 2 Mi rows filled up on a busy 24 GiB build machine (compilers, storage daemons and test
/// hosts each hold a few hundred thousand rows); the table memory a machine needs grows with what it runs, which
/// grows with its memory. 24 GiB gives 8 Mi rows (96 MiB).
/// </summary>
internal static class RowBudget
{
    public const uint MinRows = 1 << 20;
    public const uint MaxRows = 1 << 24;

    public static uint FromMemory(long availableBytes) =>
        (uint)Math.Clamp(availableBytes / 256 / Parca.Symbols.Cfi.UnwindRow.Size, MinRows, MaxRows);
}
