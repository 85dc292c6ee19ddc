using Microsoft.Win32.SafeHandles;
using Parca.Symbols.Elf;
using Parca.Symbols.IO;

namespace Parca.Symbols.Debuginfo;

/// <summary>An opened separate debug file; disposing closes it.</summary>
internal sealed class DebugFile(string path, SafeFileHandle handle, ElfFile elf) : IDisposable
{
    public string Path { get; } = path;

    public SafeFileHandle Handle { get; } = handle;

    public ElfFile Elf { get; } = elf;

    public void Dispose() => Handle.Dispose();
}

/// <summary>
/// Finds the separate debug file of an ELF file the way gdb and elfutils do: by GNU build id under each debug
/// directory (<c>.build-id/xx/rest.debug</c>, accepted only when the debug file carries the same build id), then by
/// .gnu_debuglink next to the file, in its <c>.debug/</c> subdirectory, and under each debug directory plus the
/// file's directory (accepted only when the CRC-32 matches).
/// </summary>
internal static class DebugFileFinder
{
    public static DebugFile? Find(ElfFile elf, SafeFileHandle handle, string path, string root, IReadOnlyList<string> debugDirectories, List<string> skipped)
    {
        var buildId = elf.BuildId;
        if (buildId is { Length: > 2 })
        {
            foreach (var dir in debugDirectories)
            {
                var candidate = $"{dir.TrimEnd('/')}/.build-id/{buildId[..2]}/{buildId[2..]}.debug";
                var opened = Open("/", candidate, skipped);
                if (opened is null)
                {
                    continue;
                }

                if (opened.Elf.BuildId == buildId)
                {
                    return opened;
                }

                skipped.Add($"{candidate}: build id {opened.Elf.BuildId ?? "(none)"} does not match {buildId} of {path}");
                opened.Dispose();
            }
        }

        DebugLink link;
        try
        {
            var section = elf.ReadSection(new FileElfSource(handle), path, ".gnu_debuglink", 4096);
            if (section is null)
            {
                return null;
            }

            link = DebugLink.Parse(section, path);
        }
        catch (InvalidDataException e)
        {
            skipped.Add(e.Message);
            return null;
        }

        var directory = System.IO.Path.GetDirectoryName(path) ?? "/";
        var candidates = new List<(string Root, string Path)>
        {
            (root, $"{directory}/{link.Name}"),
            (root, $"{directory}/.debug/{link.Name}"),
        };
        foreach (var dir in debugDirectories)
        {
            // Confined to the debug directory: the directory part comes from the profiled process.
            candidates.Add((dir, $"{directory}/{link.Name}"));
        }

        foreach (var (candidateRoot, candidate) in candidates)
        {
            var shown = candidateRoot == "/" ? candidate : candidateRoot.TrimEnd('/') + candidate;
            var handleOfCandidate = SafeFile.TryOpen(candidateRoot, candidate, NativeSymbols.MaxDebugFileBytes, out _);
            if (handleOfCandidate is null)
            {
                continue;
            }

            var crc = DebugLink.Checksum(handleOfCandidate);
            if (crc != link.Crc)
            {
                handleOfCandidate.Dispose();
                skipped.Add($"{shown}: CRC-32 0x{crc:x8} does not match 0x{link.Crc:x8} in the .gnu_debuglink of {path}");
                continue;
            }

            try
            {
                return new DebugFile(shown, handleOfCandidate, ElfFile.Read(handleOfCandidate, shown));
            }
            catch (InvalidDataException e)
            {
                handleOfCandidate.Dispose();
                skipped.Add(e.Message);
            }
        }

        return null;
    }

    private static DebugFile? Open(string root, string path, List<string> skipped)
    {
        var handle = SafeFile.TryOpen(root, path, NativeSymbols.MaxDebugFileBytes, out _);
        if (handle is null)
        {
            return null;
        }

        try
        {
            return new DebugFile(path, handle, ElfFile.Read(handle, path));
        }
        catch (InvalidDataException e)
        {
            handle.Dispose();
            skipped.Add(e.Message);
            return null;
        }
    }
}
