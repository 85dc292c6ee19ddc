using System.Buffers.Binary;

namespace Parca.Agent.Interpreters;

/// <summary>The V8 walker's map (bpf/interp_v8.h): <c>parca_v8_procs</c>.</summary>
internal sealed partial class InterpreterMaps
{
    /// <summary>sizeof(struct parca_v8_proc).</summary>
    public const int V8ProcBytes = 24;

    /// <summary>The bytes of struct parca_v8_proc for <paramref name="process"/>.</summary>
    public static void Encode(V8Process process, Span<byte> value)
    {
        value.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(value, process.CodeStart);
        BinaryPrimitives.WriteUInt64LittleEndian(value[8..], process.CodeEnd);
        BinaryPrimitives.WriteInt16LittleEndian(value[16..], (short)process.Layout.FpFunction);
        BinaryPrimitives.WriteInt16LittleEndian(value[18..], (short)process.Layout.FpContext);
        BinaryPrimitives.WriteUInt16LittleEndian(value[20..], (ushort)process.Layout.FunctionShared);
    }

    /// <summary>Publishes <paramref name="process"/>'s layout; false when the map is full (the process stays native-only).</summary>
    public bool WriteV8(V8Process process)
    {
        Span<byte> value = stackalloc byte[V8ProcBytes];
        Encode(process, value);
        return Update(_v8Fd, process.Pid, value);
    }

    public void DeleteV8(int pid) => Delete(_v8Fd, pid);
}
