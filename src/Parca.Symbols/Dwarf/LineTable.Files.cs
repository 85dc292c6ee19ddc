using System.Text;

namespace Parca.Symbols.Dwarf;

/// <summary>The file tables of a line program header, resolved to full paths the way addr2line prints them.</summary>
internal sealed partial class LineTable
{
    private const int LnctPath = 1;
    private const int LnctDirectoryIndex = 2;

    /// <summary>DWARF 2–4: include_directories then file_names, each list ended by an empty string; file 1 is the first entry.</summary>
    private static List<string> ReadV4Files(ref DwarfCursor c, string compDir, string? unitName)
    {
        var dirs = new List<string> { compDir };
        while (true)
        {
            var d = c.CString();
            if (d.IsEmpty)
            {
                break;
            }

            dirs.Add(Join(compDir, Encoding.UTF8.GetString(d)));
        }

        var files = new List<string>();
        while (true)
        {
            var f = c.CString();
            if (f.IsEmpty)
            {
                break;
            }

            var dir = c.Uleb();
            c.Uleb();
            c.Uleb();
            files.Add(Join(dir < (ulong)dirs.Count ? dirs[(int)dir] : compDir, Encoding.UTF8.GetString(f)));
        }

        _ = unitName;
        return files;
    }

    /// <summary>DWARF 5: self-describing directory and file entry formats; directory 0 is the compilation directory, file 0 the primary source.</summary>
    private static List<string> ReadV5Files(ref DwarfCursor c, DwarfSections s, in UnitHeader header, string compDir)
    {
        var dirs = new List<string>();
        foreach (var (path, _) in ReadEntries(ref c, s, header))
        {
            dirs.Add(Join(compDir, path)); // binutils prefixes every relative directory, entry 0 included, with DW_AT_comp_dir
        }

        var files = new List<string>();
        foreach (var (path, dir) in ReadEntries(ref c, s, header))
        {
            files.Add(Join(dir < (ulong)dirs.Count ? dirs[(int)dir] : compDir, path));
        }

        return files;
    }

    private static List<(string Path, ulong Dir)> ReadEntries(ref DwarfCursor c, DwarfSections s, in UnitHeader header)
    {
        var formatCount = c.U8();
        Span<(ulong Type, ushort Form)> format = stackalloc (ulong, ushort)[formatCount];
        for (var i = 0; i < formatCount; i++)
        {
            format[i] = (c.Uleb(), (ushort)Math.Min(c.Uleb(), ushort.MaxValue));
        }

        var count = c.Uleb();
        if (count > (ulong)c.Length)
        {
            return DwarfCursor.Fail<List<(string, ulong)>>($"line table entry count {count} larger than .debug_line");
        }

        var list = new List<(string, ulong)>((int)count);
        for (ulong n = 0; n < count; n++)
        {
            var path = "";
            ulong dir = 0;
            foreach (var (type, form) in format)
            {
                var v = Forms.Read(ref c, form, 0, header);
                if (type == LnctPath)
                {
                    path = v.Kind switch
                    {
                        ValueKind.LineStrOffset => DwarfStrings.At(s.LineStr, v.Value),
                        ValueKind.StrOffset => DwarfStrings.At(s.Str, v.Value),
                        ValueKind.InlineString => DwarfStrings.At(s.Line, v.Value),
                        _ => "",
                    };
                }
                else if (type == LnctDirectoryIndex && v.Kind == ValueKind.Constant)
                {
                    dir = v.Value;
                }
            }

            list.Add((path, dir));
        }

        return list;
    }

    private static string Join(string dir, string path) =>
        path.StartsWith('/') || dir.Length == 0 ? path : dir.EndsWith('/') ? dir + path : dir + "/" + path;
}
