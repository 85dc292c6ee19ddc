using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Parca.Symbols.Debuginfo;
using Parca.Symbols.Elf;

namespace Parca.Agent.Processes;

/// <summary>
/// Loads an object file's function table from every source <see cref="NativeSymbols"/> knows (Go's pclntab, the
/// file's .symtab, a debug file under --debuginfo-directories, MiniDebugInfo, .dynsym), counts what it used, and
/// logs each corrupt or mismatched source once per file (a table trimmed from memory and read again is not
/// reported twice).
/// </summary>
internal sealed partial class DebugSymbolLoader
{
    private readonly ILogger _logger;
    private long _debugFiles;
    private long _skipped;

    public DebugSymbolLoader(IReadOnlyList<string> debugDirectories, ILogger logger)
    {
        Directories = debugDirectories;
        _logger = logger;
    }

    public static DebugSymbolLoader Disabled { get; } = new([], Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    public IReadOnlyList<string> Directories { get; }

    /// <summary>Symbol tables loaded from a separate debug file.</summary>
    public long DebugFilesLoaded => Interlocked.Read(ref _debugFiles);

    /// <summary>Debug sources skipped as corrupt, truncated or not matching (CRC, build id).</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    public SymbolTable Load(ElfFile elf, SafeFileHandle handle, string path, string root, bool firstLoad)
    {
        var result = NativeSymbols.Load(elf, handle, path, root, Directories);
        if (firstLoad)
        {
            if (result.DebugFile is not null)
            {
                Interlocked.Increment(ref _debugFiles);
                LogDebugFile(_logger, path, result.DebugFile);
            }

            foreach (var skip in result.Skipped)
            {
                Interlocked.Increment(ref _skipped);
                LogSkipped(_logger, skip);
            }
        }

        return result.Table;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "symbols of {Path} from {DebugFile}")]
    private static partial void LogDebugFile(ILogger logger, string path, string debugFile);

    [LoggerMessage(Level = LogLevel.Warning, Message = "debuginfo skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string reason);
}
