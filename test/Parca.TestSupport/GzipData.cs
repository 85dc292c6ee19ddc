using System.IO.Compression;

namespace Parca.TestSupport;

/// <summary>Gzip inputs for decoder and limit tests.</summary>
public static class GzipData
{
    /// <summary>A gzip bomb: <paramref name="count"/> zero bytes (rounded up to whole MiB) compressed.</summary>
    public static byte[] Zeros(long count, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, level, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (long written = 0; written < count; written += zeros.Length)
            {
                gz.Write(zeros);
            }
        }

        return output.ToArray();
    }

    public static byte[] Inflate(byte[] gzip)
    {
        using var gz = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gz.CopyTo(output);
        return output.ToArray();
    }
}
