using System.Runtime.InteropServices;

namespace Parca.Agent.Interop;

/// <summary>
/// libbpf.so.1 (Debian's 1.1) entry points. In libbpf 1.x pointer-returning calls return NULL and set errno;
/// int-returning calls return a negative errno.
/// </summary>
internal static unsafe partial class Libbpf
{
    private const string Lib = "libbpf.so.1";

    [LibraryImport(Lib, EntryPoint = "bpf_object__open_mem", SetLastError = true)]
    public static partial nint ObjectOpenMem(byte* buffer, nuint size, nint options);

    [LibraryImport(Lib, EntryPoint = "bpf_object__load")]
    public static partial int ObjectLoad(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__close")]
    public static partial void ObjectClose(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__find_program_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint FindProgramByName(nint obj, string name);

    [LibraryImport(Lib, EntryPoint = "bpf_object__find_map_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint FindMapByName(nint obj, string name);

    [LibraryImport(Lib, EntryPoint = "bpf_map__fd")]
    public static partial int MapFd(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__value_size")]
    public static partial uint MapValueSize(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__set_max_entries")]
    public static partial int MapSetMaxEntries(nint map, uint maxEntries);

    [LibraryImport(Lib, EntryPoint = "bpf_program__fd")]
    public static partial int ProgramFd(nint prog);

    [LibraryImport(Lib, EntryPoint = "bpf_program__attach_perf_event", SetLastError = true)]
    public static partial nint ProgramAttachPerfEvent(nint prog, int perfEventFd);

    [LibraryImport(Lib, EntryPoint = "bpf_link__destroy")]
    public static partial int LinkDestroy(nint link);

    [LibraryImport(Lib, EntryPoint = "bpf_map_lookup_elem", SetLastError = true)]
    public static partial int MapLookupElem(int fd, void* key, void* value);

    [LibraryImport(Lib, EntryPoint = "bpf_map_update_elem", SetLastError = true)]
    public static partial int MapUpdateElem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Lib, EntryPoint = "bpf_map_delete_elem", SetLastError = true)]
    public static partial int MapDeleteElem(int fd, void* key);

    /// <summary>Writes <paramref name="count"/> key/value pairs in one syscall (arrays: since Linux 5.6). Returns 0 or a negative errno.</summary>
    [LibraryImport(Lib, EntryPoint = "bpf_map_update_batch", SetLastError = true)]
    public static partial int MapUpdateBatch(int fd, void* keys, void* values, uint* count, nint options);

    [LibraryImport(Lib, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int NumPossibleCpus();

    [LibraryImport(Lib, EntryPoint = "ring_buffer__new", SetLastError = true)]
    public static partial nint RingBufferNew(int mapFd, delegate* unmanaged<nint, void*, nuint, int> sampleCallback, nint context, nint options);

    [LibraryImport(Lib, EntryPoint = "ring_buffer__consume")]
    public static partial int RingBufferConsume(nint ringBuffer);

    [LibraryImport(Lib, EntryPoint = "ring_buffer__free")]
    public static partial void RingBufferFree(nint ringBuffer);

    [LibraryImport(Lib, EntryPoint = "libbpf_set_print")]
    public static partial nint SetPrint(delegate* unmanaged<int, byte*, nint, int> callback);

    public const int PrintWarn = 0;
    public const int PrintInfo = 1;
    public const int PrintDebug = 2;
}
