using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Parca.Agent.Runtimes.Java;

/// <summary>A process's memory through /proc/PID/mem: exact reads that throw IOException when the range is not mapped.</summary>
internal sealed class ProcessMemory(SafeFileHandle handle) : IDisposable
{
    public static ProcessMemory Open(string procRoot, int pid) => new(File.OpenHandle($"{procRoot}/{pid}/mem"));

    public void Read(ulong address, Span<byte> into)
    {
        if (address == 0 || address >= 1UL << 47)
        {
            throw new IOException($"address {address:x} is outside user memory");
        }

        var done = 0;
        while (done < into.Length)
        {
            var n = RandomAccess.Read(handle, into[done..], (long)address + done);
            if (n <= 0)
            {
                throw new IOException($"{into.Length} bytes at {address:x} are not readable");
            }

            done += n;
        }
    }

    public ulong Word(ulong address)
    {
        Span<byte> b = stackalloc byte[8];
        Read(address, b);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    public void Dispose() => handle.Dispose();
}
