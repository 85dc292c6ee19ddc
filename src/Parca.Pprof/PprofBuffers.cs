using System.Buffers;

namespace Parca.Pprof;

/// <summary>
/// Byte buffers for decoded protobuf: small ones come from and go back to <see cref="ArrayPool{T}.Shared"/>, large
/// ones are plain arrays left to the GC. The shared pool keeps arrays up to 1 GiB per size class and per core, so
/// returning every buffer would pin the memory of the largest profiles (or refused bombs) ever seen for good.
/// </summary>
public static class PprofBuffers
{
    /// <summary>Largest buffer that is pooled (agent profiles are tens of KiB; 1 MiB covers nearly all of them).</summary>
    public const int MaxPooledBytes = 1 << 20;

    public static byte[] Rent(int size) =>
        size <= MaxPooledBytes ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);

    public static void Return(byte[] buffer)
    {
        if (buffer.Length is > 0 and <= MaxPooledBytes)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
