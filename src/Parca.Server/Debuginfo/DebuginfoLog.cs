using Microsoft.Extensions.Logging;

namespace Parca.Server.Debuginfo;

/// <summary>The debuginfo subsystem's log lines (category Parca.Debuginfo).</summary>
internal static partial class DebuginfoLog
{
    [LoggerMessage(101, LogLevel.Warning, "debuginfo: build id {BuildId} marked invalid: {Reason}")]
    public static partial void MarkedInvalid(ILogger logger, string buildId, string reason);

    [LoggerMessage(102, LogLevel.Information, "debuginfo: build id {BuildId} loaded from {Source} ({Bytes} bytes held; dwarf={Dwarf} gopclntab={Pclntab} symtab={Symtab} dynsym={Dynsym})")]
    public static partial void Loaded(ILogger logger, string buildId, string source, long bytes, bool dwarf, bool pclntab, bool symtab, bool dynsym);

    [LoggerMessage(103, LogLevel.Information, "debuginfo: build id {BuildId} uploaded ({Bytes} bytes)")]
    public static partial void Uploaded(ILogger logger, string buildId, long bytes);

    [LoggerMessage(104, LogLevel.Warning, "debuginfo: build id {BuildId}: {Problem}")]
    public static partial void Problem(ILogger logger, string buildId, string problem);
}
