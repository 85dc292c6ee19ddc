namespace Parca.Pprof;

/// <summary>
/// The only exception the decoder, validator and merger throw for bad input. <see cref="Exception.Message"/> names the
/// field and index (for example <c>sample[12].location_id[3]: location id 99 not found</c>).
/// </summary>
public sealed class PprofException : Exception
{
    public PprofException()
        : this(PprofErrorCode.InvalidProfile, "invalid pprof profile")
    {
    }

    public PprofException(string message)
        : this(PprofErrorCode.InvalidProfile, message)
    {
    }

    public PprofException(string message, Exception innerException)
        : this(PprofErrorCode.InvalidProfile, message, innerException)
    {
    }

    public PprofException(PprofErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Why the input was refused.</summary>
    public PprofErrorCode Code { get; }

    /// <summary>True when a configured limit was hit (map to gRPC <c>RESOURCE_EXHAUSTED</c>, HTTP 413).</summary>
    public bool IsLimit => Code is PprofErrorCode.CompressedSizeLimit or PprofErrorCode.DecompressedSizeLimit or PprofErrorCode.CountLimit or PprofErrorCode.DecodeBudgetExhausted;

    /// <summary>The gRPC status code for this error: 8 (<c>RESOURCE_EXHAUSTED</c>) for limits, else 3 (<c>INVALID_ARGUMENT</c>).</summary>
    public int GrpcStatusCode => IsLimit ? 8 : 3;
}
