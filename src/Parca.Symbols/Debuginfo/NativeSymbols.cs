using Microsoft.Win32.SafeHandles;
using Parca.Symbols.Elf;
using Parca.Symbols.Go;

namespace Parca.Symbols.Debuginfo;

/// <summary>What a symbol load found: the table, where its names came from, and the sources skipped as corrupt or mismatched.</summary>
internal sealed record NativeSymbolsResult(SymbolTable Table, string Sources, string? DebugFile, IReadOnlyList<string> Skipped);

/// <summary>
/// Builds the function table of a native executable or library from every place names can be found, best first:
/// Go's .gopclntab (present even in stripped Go binaries); the file's own .symtab, else a separate debug file found
/// by GNU build id (<c>DIR/.build-id/xx/rest.debug</c>) or by .gnu_debuglink (CRC-32 checked), else the
/// MiniDebugInfo in .gnu_debugdata; and always .dynsym. A corrupt or mismatched source is skipped with a reason
/// naming the file, and the others still count.
/// </summary>
internal static class NativeSymbols
{
    /// <summary>Debug files (and pclntab sections) beyond this are not read: memory stays bounded whatever a machine holds.</summary>
    public const long MaxDebugFileBytes = 2L << 30;

    public const long MaxPclntabBytes = 256L << 20;

    /// <param name="elf">The parsed headers of the mapped file.</param>
    /// <param name="handle">The open mapped file.</param>
    /// <param name="path">The file's path as its process sees it (for .gnu_debuglink's same-directory rules and messages).</param>
    /// <param name="root">The process's root (/proc/PID/root), inside which same-directory debug links are resolved; "/" for the host.</param>
    /// <param name="debugDirectories">Host directories searched by build id and debug link (--debuginfo-directories).</param>
    public static NativeSymbolsResult Load(ElfFile elf, SafeFileHandle handle, string path, string root, IReadOnlyList<string> debugDirectories)
    {
        var builder = new SymbolTableBuilder();
        var skipped = new List<string>();
        var sources = new List<string>();
        var source = new FileElfSource(handle);
        string? debugFile = null;

        Try(skipped, () =>
        {
            var pclntab = elf.ReadSection(source, path, ".gopclntab", MaxPclntabBytes);
            if (pclntab is not null)
            {
                var text = elf.Sections.FirstOrDefault(s => s.Name == ".text")?.Address ?? 0;
                GoPclntab.Read(pclntab, text, builder, path);
                sources.Add("gopclntab");
            }
        });

        var hasFullTable = false;
        if (elf.HasSymtab)
        {
            hasFullTable = Try(skipped, () => elf.AddSymbols(source, path, ElfFile.SymtabKind, builder));
            if (hasFullTable)
            {
                sources.Add("symtab");
            }
        }

        if (!hasFullTable)
        {
            using var debug = DebugFileFinder.Find(elf, handle, path, root, debugDirectories, skipped);
            if (debug is not null && Try(skipped, () => debug.Elf.AddSymbols(new FileElfSource(debug.Handle), debug.Path, ElfFile.SymtabKind, builder)))
            {
                hasFullTable = true;
                debugFile = debug.Path;
                sources.Add("debug file " + debug.Path);
            }
        }

        if (!hasFullTable)
        {
            Try(skipped, () =>
            {
                var section = elf.ReadSection(source, path, ".gnu_debugdata", MiniDebugInfo.MaxCompressedBytes);
                if (section is not null)
                {
                    var image = MiniDebugInfo.Decompress(section, path);
                    var mini = ElfFile.Read(image, path + " (.gnu_debugdata)");
                    if (mini.AddSymbols(new MemoryElfSource(image), path + " (.gnu_debugdata)", ElfFile.SymtabKind, builder))
                    {
                        sources.Add("gnu_debugdata");
                    }
                }
            });
        }

        if (Try(skipped, () => elf.AddSymbols(source, path, ElfFile.DynsymKind, builder)))
        {
            sources.Add("dynsym");
        }

        return new NativeSymbolsResult(builder.Build(), string.Join(", ", sources), debugFile, skipped);
    }

    private static bool Try(List<string> skipped, Func<bool> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e)
        {
            skipped.Add(e.Message);
            return false;
        }
        catch (IOException e)
        {
            skipped.Add(e.Message);
            return false;
        }
    }

    private static void Try(List<string> skipped, Action read) => Try(skipped, () =>
    {
        read();
        return true;
    });
}
