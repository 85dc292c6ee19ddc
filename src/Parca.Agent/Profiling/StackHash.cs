using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Parca.Agent.Profiling;

/// <summary>
/// Hashes of the agent's event path and of its stable ids, on System.IO.Hashing: XxHash3 over the frame words of a
/// stack (measured against the earlier hand-written multiply-rotate fold in <c>StackHashBenchmarks</c>: faster on
/// 30-frame stacks, see bench/README.md), XxHash128 for hex ids. Collisions in the stack table are resolved by
/// comparing frames, so the hash only has to be fast and well spread.
/// </summary>
internal static class StackHash
{
    // Marks the boundary between kernel and user frames, so moving a frame across it changes the hash.
    private const long UserSeedSalt = unchecked((long)0x9E3779B185EBCA87UL);

    /// <summary>The hash of one sample's identity: thread, CPU, kernel frames, then user frames.</summary>
    public static ulong Stack(int pid, int tid, int cpu, ReadOnlySpan<ulong> kernel, ReadOnlySpan<ulong> user)
    {
        var seed = (long)(((ulong)(uint)pid << 32) | (uint)tid) ^ ((long)cpu * UserSeedSalt);
        var h = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(kernel), seed);
        return XxHash3.HashToUInt64(MemoryMarshal.AsBytes(user), (long)h ^ UserSeedSalt);
    }

    /// <summary>
    /// A stable hex id of <paramref name="text"/> (<paramref name="hexChars"/> ≤ 32). Not cryptographic: used for
    /// label values and URLs, where SHA-256 would load libcrypto (about 5 MB of the agent's RSS) for nothing.
    /// </summary>
    public static string HexId(string text, int hexChars)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        Span<byte> id = stackalloc byte[16];
        XxHash128.Hash(bytes, id);
        return Convert.ToHexStringLower(id)[..hexChars];
    }
}
