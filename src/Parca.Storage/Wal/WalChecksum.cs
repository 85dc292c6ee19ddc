using System.IO.Hashing;

namespace Parca.Storage.Wal;

/// <summary>CRC-32C (Castagnoli) of log records, from System.IO.Hashing (the same value the block format uses).</summary>
internal static class WalChecksum
{
    public static uint Compute(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);
}
