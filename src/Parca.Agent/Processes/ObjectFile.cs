using Microsoft.Win32.SafeHandles;
using Parca.Symbols.Elf;

namespace Parca.Agent.Processes;

/// <summary>
/// An executable or shared object seen in some process: identity, build id and (lazily) its symbols. It keeps its
/// file descriptor open (as Parca Agent's object file pool does) so symbols can still be read after the process
/// that mapped it exited and its /proc/PID/map_files link vanished; the bounded pool closes it on eviction.
/// </summary>
internal sealed class ObjectFile : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SafeFileHandle? _handle;
    private readonly DebugSymbolLoader _loader;
    private readonly string _root;
    private readonly long _maxSymbolBytes;
    private SymbolTable? _symbols;
    private bool _loadedOnce;

    /// <param name="root">The mapping process's root (/proc/PID/root), where .gnu_debuglink targets next to the file are looked up.</param>
    /// <param name="maxSymbolBytes">Symbol sections larger than this are not read (a hostile file cannot make the agent allocate without bound).</param>
    public ObjectFile(string path, SafeFileHandle? handle, ElfFile? elf, string? compiler, DebugSymbolLoader? loader = null, string root = "/", long maxSymbolBytes = long.MaxValue)
    {
        _maxSymbolBytes = maxSymbolBytes;
        Path = path;
        _handle = handle;
        Elf = elf;
        Compiler = compiler;
        _loader = loader ?? DebugSymbolLoader.Disabled;
        _root = root;
    }

    public string Path { get; }

    /// <summary>Null when the file is not ELF (or unreadable): its frames stay unsymbolized.</summary>
    public ElfFile? Elf { get; }

    public string? BuildId => Elf?.BuildId;

    public string? Compiler { get; }

    /// <summary>The mapping process's root (/proc/PID/root): debug links next to the file are looked up there.</summary>
    internal string Root => _root;

    /// <summary>The open file (null when not ELF): the unwind table builder reads .eh_frame through it.</summary>
    internal SafeFileHandle? Handle => _handle;

    /// <summary>Reads the function table on first use (see <see cref="DebugSymbolLoader"/>); an unreadable file yields an empty table.</summary>
    public SymbolTable Symbols
    {
        get
        {
            lock (_lock)
            {
                if (_symbols is not null)
                {
                    return _symbols;
                }

                try
                {
                    _symbols = Elf is not null && _handle is { IsClosed: false } && SymbolSectionBytes(Elf) <= _maxSymbolBytes
                        ? _loader.Load(Elf, _handle, Path, _root, !_loadedOnce)
                        : SymbolTable.Empty;
                    _loadedOnce = true;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ObjectDisposedException or OutOfMemoryException)
                {
                    _symbols = SymbolTable.Empty;
                }

                return _symbols;
            }
        }
    }

    /// <summary>
    /// Non-blocking: the loaded symbols, or null while they are not loaded (or another thread is loading them, e.g.
    /// a background job stuck on a slow file system): the window path must never wait for a file.
    /// </summary>
    public SymbolTable? TryGetLoadedSymbols()
    {
        if (!_lock.TryEnter())
        {
            return null;
        }

        try
        {
            return _symbols;
        }
        finally
        {
            _lock.Exit();
        }
    }

    /// <summary>Bytes the largest symbol table and its string table would take (what <see cref="ElfFile.ReadSymbols"/> loads).</summary>
    private static long SymbolSectionBytes(ElfFile elf)
    {
        long largest = 0;
        foreach (var s in elf.Sections)
        {
            if (s.Type is 2 or 11 && s.Link < elf.Sections.Count)
            {
                largest = Math.Max(largest, (long)Math.Min(s.Size, long.MaxValue / 4) + (long)Math.Min(elf.Sections[(int)s.Link].Size, long.MaxValue / 4));
            }
        }

        return largest;
    }

    /// <summary>Memory held by the loaded symbol table (0 when not loaded, or while a load is in progress).</summary>
    public long SymbolBytes => TryGetLoadedSymbols()?.ApproximateBytes ?? 0;

    /// <summary>Forgets the loaded symbols (they are read again from the still-open file when next needed); skipped while a load is in progress.</summary>
    public void ReleaseSymbols()
    {
        if (!_lock.TryEnter())
        {
            return;
        }

        try
        {
            if (_handle is { IsClosed: false })
            {
                _symbols = null;
            }
        }
        finally
        {
            _lock.Exit();
        }
    }

    /// <summary>
    /// Closes the file without waiting for a load in progress (the pool evicts under its own lock, and a load may be
    /// stuck on a slow file system): SafeHandle reference counting defers the close until that read returns.
    /// </summary>
    public void Dispose()
    {
        _handle?.Dispose();
        if (_lock.TryEnter())
        {
            _symbols ??= SymbolTable.Empty;
            _lock.Exit();
        }
    }
}
