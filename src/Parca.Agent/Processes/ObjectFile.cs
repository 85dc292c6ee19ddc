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
    private SymbolTable? _symbols;

    public ObjectFile(string path, SafeFileHandle? handle, ElfFile? elf, string? compiler)
    {
        Path = path;
        _handle = handle;
        Elf = elf;
        Compiler = compiler;
    }

    public string Path { get; }

    /// <summary>Null when the file is not ELF (or unreadable): its frames stay unsymbolized.</summary>
    public ElfFile? Elf { get; }

    public string? BuildId => Elf?.BuildId;

    public string? Compiler { get; }

    /// <summary>The open file (null when not ELF): the unwind table builder reads .eh_frame through it.</summary>
    internal SafeFileHandle? Handle => _handle;

    /// <summary>Reads .symtab/.dynsym on first use; an unreadable file yields an empty table.</summary>
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
                    _symbols = Elf is not null && _handle is { IsClosed: false } ? Elf.ReadSymbols(_handle, Path) : SymbolTable.Empty;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ObjectDisposedException or OutOfMemoryException)
                {
                    _symbols = SymbolTable.Empty;
                }

                return _symbols;
            }
        }
    }

    /// <summary>Memory held by the loaded symbol table (0 when not loaded).</summary>
    public long SymbolBytes
    {
        get
        {
            lock (_lock)
            {
                return _symbols?.ApproximateBytes ?? 0;
            }
        }
    }

    /// <summary>Forgets the loaded symbols (they are read again from the still-open file when next needed).</summary>
    public void ReleaseSymbols()
    {
        lock (_lock)
        {
            if (_handle is { IsClosed: false })
            {
                _symbols = null;
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _symbols ??= SymbolTable.Empty;
            _handle?.Dispose();
        }
    }
}
