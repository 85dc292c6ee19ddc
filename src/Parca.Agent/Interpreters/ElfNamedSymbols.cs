using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Parca.Symbols.Elf;

namespace Parca.Agent.Interpreters;

/// <summary>
/// Finds a few named symbols of any type (objects such as <c>_PyRuntime</c> and <c>Py_Version</c>, which the
/// function-only <see cref="SymbolTable"/> drops) in an ELF file's .dynsym, then .symtab; and reads bytes at a
/// virtual address from the file. Tables larger than <see cref="MaxTableBytes"/> are not read.
/// </summary>
internal static class ElfNamedSymbols
{
    private const int MaxTableBytes = 64 << 20;
    private const uint ShtSymtab = 2;
    private const uint ShtDynsym = 11;
    private const int SymbolBytes = 24;

    /// <summary>(value, size) of each of <paramref name="names"/> found; a name not defined in the file is absent.</summary>
    public static Dictionary<string, (ulong Value, ulong Size)> Find(ElfFile elf, SafeFileHandle file, params string[] names)
    {
        var found = new Dictionary<string, (ulong, ulong)>(StringComparer.Ordinal);
        var wanted = names.Select(n => Encoding.ASCII.GetBytes(n)).ToArray();
        foreach (var kind in new[] { ShtDynsym, ShtSymtab })
        {
            var table = elf.Sections.FirstOrDefault(s => s.Type == kind);
            if (table is null || table.Link >= elf.Sections.Count || table.Size is 0 or > MaxTableBytes)
            {
                continue;
            }

            var strings = elf.Sections[(int)table.Link];
            if (strings.Size > MaxTableBytes)
            {
                continue;
            }

            var symbols = Read(file, table.Offset, (int)table.Size);
            var strtab = Read(file, strings.Offset, (int)strings.Size);
            for (var at = 0; at + SymbolBytes <= symbols.Length; at += SymbolBytes)
            {
                var entry = symbols.AsSpan(at, SymbolBytes);
                var name = BinaryPrimitives.ReadUInt32LittleEndian(entry);
                var section = BinaryPrimitives.ReadUInt16LittleEndian(entry[6..]);
                if (section == 0 || name >= strtab.Length)
                {
                    continue; // undefined (imported) symbol
                }

                var rest = strtab.AsSpan((int)name);
                var end = rest.IndexOf((byte)0);
                var text = end < 0 ? rest : rest[..end];
                for (var i = 0; i < wanted.Length; i++)
                {
                    if (text.SequenceEqual(wanted[i]) && !found.ContainsKey(names[i]))
                    {
                        found[names[i]] = (BinaryPrimitives.ReadUInt64LittleEndian(entry[8..]), BinaryPrimitives.ReadUInt64LittleEndian(entry[16..]));
                    }
                }
            }

            if (found.Count == names.Length)
            {
                break;
            }
        }

        return found;
    }

    /// <summary>The file bytes behind virtual address <paramref name="address"/> (a PT_LOAD with file data), or null.</summary>
    public static byte[]? ReadAt(ElfFile elf, SafeFileHandle file, ulong address, int length)
    {
        foreach (var p in elf.ProgramHeaders)
        {
            if (p.Type == 1 && address >= p.VirtualAddress && address + (ulong)length <= p.VirtualAddress + p.FileSize)
            {
                return Read(file, p.Offset + (address - p.VirtualAddress), length);
            }
        }

        return null;
    }

    private static byte[] Read(SafeFileHandle file, ulong offset, int length)
    {
        var buffer = new byte[length];
        var done = 0;
        while (done < length)
        {
            var n = RandomAccess.Read(file, buffer.AsSpan(done), (long)offset + done);
            if (n <= 0)
            {
                throw new InvalidDataException($"ELF file ends at {(long)offset + done} inside a {length} byte table");
            }

            done += n;
        }

        return buffer;
    }
}
