using System.Buffers;
using Parca.Pprof.Protobuf;

namespace Parca.Pprof;

/// <summary>
/// Reads pprof profiles (gzip-compressed or raw <c>profile.proto</c>) into a validated <see cref="FlatProfile"/>,
/// or into the full <see cref="Profile"/> model. Bad input always ends in a <see cref="PprofException"/>.
/// </summary>
public static class PprofDecoder
{
    /// <summary>True when <paramref name="data"/> starts with the gzip magic <c>1f 8b</c>.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> data) => data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    /// <summary>Decodes into a new <see cref="FlatProfile"/> (dispose it to return its pooled buffer).</summary>
    public static FlatProfile Decode(ReadOnlySpan<byte> input, PprofReadOptions? options = null)
    {
        var profile = new FlatProfile();
        try
        {
            Decode(input, profile, options);
            return profile;
        }
        catch
        {
            profile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Decodes into <paramref name="target"/>, replacing its contents and reusing its storage. On error the
    /// target is left empty and a <see cref="PprofException"/> is thrown.
    /// </summary>
    public static void Decode(ReadOnlySpan<byte> input, FlatProfile target, PprofReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        options ??= PprofReadOptions.Default;
        var limits = options.Limits;
        target.Reset();
        try
        {
            if (input.Length > limits.MaxCompressedBytes)
            {
                throw new PprofException(
                    PprofErrorCode.CompressedSizeLimit,
                    "profile: " + input.Length + " bytes exceeds the limit of " + limits.MaxCompressedBytes + " bytes");
            }

            if (IsGzip(input))
            {
                GzipInflater.Inflate(input, target, limits.MaxDecompressedBytes, options.Budget);
            }
            else
            {
                if (input.Length > limits.MaxDecompressedBytes)
                {
                    throw new PprofException(
                        PprofErrorCode.DecompressedSizeLimit,
                        "profile: " + input.Length + " bytes of protobuf exceeds the limit of " + limits.MaxDecompressedBytes + " bytes");
                }

                target.Reserve(options.Budget, input.Length);
                var buffer = target.TakeData(input.Length);
                input.CopyTo(buffer);
                target.SetData(buffer, input.Length);
            }

            if (target.Data.IsEmpty)
            {
                throw new PprofException(PprofErrorCode.EmptyInput, "profile: empty input");
            }

            try
            {
                target.Parse(limits);
            }
            catch (ProtoFormatException e)
            {
                throw new PprofException(PprofErrorCode.MalformedProtobuf, target.Prefix(null) + e.Message, e);
            }

            target.Resolve(options.RequireSequentialIds);
        }
        catch
        {
            target.Reset();
            throw;
        }
    }

    /// <summary>
    /// Reads <paramref name="input"/> to its end (refusing more than <see cref="PprofLimits.MaxCompressedBytes"/>)
    /// and decodes it into <paramref name="target"/>.
    /// </summary>
    public static void Decode(Stream input, FlatProfile target, PprofReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= PprofReadOptions.Default;
        var max = Math.Min(options.Limits.MaxCompressedBytes, Array.MaxLength - 1);
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                }

                var read = input.Read(buffer, length, (int)Math.Min(buffer.Length - length, max + 1 - length));
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > max)
                {
                    throw new PprofException(
                        PprofErrorCode.CompressedSizeLimit,
                        "profile: input exceeds the limit of " + options.Limits.MaxCompressedBytes + " bytes");
                }
            }

            Decode(buffer.AsSpan(0, length), target, options);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Decodes into the full <see cref="Profile"/> model (strings materialized).</summary>
    public static Profile DecodeProfile(ReadOnlySpan<byte> input, PprofReadOptions? options = null)
    {
        using var flat = Decode(input, options);
        return flat.ToProfile();
    }
}
