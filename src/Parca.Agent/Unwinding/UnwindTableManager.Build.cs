using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Symbols.Cfi;
using Parca.Symbols.Debuginfo;

namespace Parca.Agent.Unwinding;

/// <summary>
/// Getting a file's rows: from the disk cache, else compiled from its CFI (and the .debug_frame of its separate
/// debug file under --debuginfo-directories when the file has none). Runs outside the manager's lock; processes that
/// map the same new file at the same time wait for one build instead of each parsing it.
/// </summary>
internal sealed partial class UnwindTableManager
{
    private readonly Dictionary<string, Lazy<UnwindRow[]?>> _building = [];
    private long _buildTicks;
    private long _tablesBuilt;
    private long _parseFailures;

    /// <summary>Files whose CFI could not be parsed (corrupt or unsupported): walked with frame pointers.</summary>
    public long ParseFailures => Interlocked.Read(ref _parseFailures);

    public long TablesBuilt => Interlocked.Read(ref _tablesBuilt);

    public TimeSpan BuildTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _buildTicks));

    /// <summary>The rows of <paramref name="file"/> (null: none or unparsable), built at most once at a time per key.</summary>
    private UnwindRow[]? LoadRows(string key, ObjectFile file)
    {
        Lazy<UnwindRow[]?> lazy;
        lock (_lock)
        {
            if (!_building.TryGetValue(key, out lazy!))
            {
                lazy = new Lazy<UnwindRow[]?>(() => ReadOrBuild(key, file), LazyThreadSafetyMode.ExecutionAndPublication);
                _building[key] = lazy;
            }
        }

        try
        {
            return lazy.Value;
        }
        finally
        {
            lock (_lock)
            {
                if (_building.TryGetValue(key, out var current) && ReferenceEquals(current, lazy))
                {
                    _building.Remove(key);
                }
            }
        }
    }

    private UnwindRow[]? ReadOrBuild(string key, ObjectFile file)
    {
        var cached = _cache.TryRead(key);
        if (cached is not null)
        {
            return cached;
        }

        var started = Stopwatch.GetTimestamp();
        DebugFile? debug = null;
        try
        {
            debug = FindDebugFile(file);
            UnwindRow[] rows;
            try
            {
                rows = UnwindTableBuilder.Build(file.Handle!, file.Elf!, file.Path, out _, debug is null ? null : (debug.Handle, debug.Elf, debug.Path));
            }
            catch (InvalidDataException e) when (debug is not null)
            {
                // A corrupt debug file costs its .debug_frame only: the file's own CFI still counts.
                LogDebugFrameSkipped(_logger, debug.Path, e.Message);
                rows = UnwindTableBuilder.Build(file.Handle!, file.Elf!, file.Path, out _);
            }

            Interlocked.Add(ref _buildTicks, Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref _tablesBuilt);
            _cache.Write(key, rows);
            return rows;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or OutOfMemoryException or ObjectDisposedException)
        {
            Interlocked.Increment(ref _parseFailures);
            bool first;
            lock (_lock)
            {
                first = _reported.Add(key);
            }

            if (first)
            {
                LogParseFailed(_logger, file.Path, e.Message);
            }

            return null;
        }
        finally
        {
            debug?.Dispose();
        }
    }

    /// <summary>
    /// The separate debug file, looked for only when the file itself has no .debug_frame: its .debug_frame covers code
    /// compiled without unwind tables (-fno-asynchronous-unwind-tables) after `strip --strip-debug`.
    /// </summary>
    private DebugFile? FindDebugFile(ObjectFile file)
    {
        var directories = _objects.SymbolLoader.Directories;
        if (directories.Count == 0 || file.Elf!.Sections.Any(s => s.Name == ".debug_frame"))
        {
            return null;
        }

        try
        {
            // Mismatched candidates (build id, CRC) are reported by the symbol loader, which looks at the same files.
            return DebugFileFinder.Find(file.Elf, file.Handle!, file.Path, file.Root, directories, []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "unwind table: .debug_frame of {DebugFile} skipped ({Error}); the file's own CFI is used")]
    private static partial void LogDebugFrameSkipped(ILogger logger, string debugFile, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "unwind table of {Path} not built ({Error}): its code is walked with frame pointers")]
    private static partial void LogParseFailed(ILogger logger, string path, string error);
}
