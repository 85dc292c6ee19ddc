using SharpCompress.Compressors.Xz;

namespace Parca.Symbols.Debuginfo;

/// <summary>
/// .gnu_debugdata ("MiniDebugInfo", used by Fedora and others): an xz stream holding a small ELF file whose .symtab
/// lists the functions missing from .dynsym. Decoded with SharpCompress's XZ reader; the output is capped so a
/// crafted stream cannot expand into gigabytes.
/// </summary>
internal static class MiniDebugInfo
{
    public const int MaxCompressedBytes = 64 << 20;
    public const int MaxImageBytes = 256 << 20;

    /// <summary>The embedded ELF image; throws <see cref="InvalidDataException"/> naming the file when the stream is corrupt, truncated or too large.</summary>
    public static byte[] Decompress(byte[] section, string nameForErrors)
    {
        // The decoder is a third-party parser fed untrusted bytes: whatever it throws means "corrupt".
        try
        {
            using var xz = new XZStream(new MemoryStream(section, writable: false));
            using var output = new MemoryStream();
            var buffer = new byte[1 << 16];
            int n;
            while ((n = xz.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + n > MaxImageBytes)
                {
                    throw new InvalidDataException($"{nameForErrors}: .gnu_debugdata expands beyond {MaxImageBytes >> 20} MiB");
                }

                output.Write(buffer, 0, n);
            }

            if (output.Length == 0)
            {
                throw new InvalidDataException($"{nameForErrors}: .gnu_debugdata: empty xz stream");
            }

            return output.ToArray();
        }
        catch (Exception e) when (e is not (InvalidDataException or OutOfMemoryException or StackOverflowException))
        {
            throw new InvalidDataException($"{nameForErrors}: .gnu_debugdata: corrupt xz stream ({e.GetType().Name}: {e.Message})", e);
        }
    }
}
