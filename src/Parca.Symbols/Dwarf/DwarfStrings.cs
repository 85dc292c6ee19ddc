using System.Text;

namespace Parca.Symbols.Dwarf;

/// <summary>NUL-terminated strings at an offset of a string section; an offset outside the section reads as "".</summary>
internal static class DwarfStrings
{
    public static string At(byte[] section, ulong offset)
    {
        if (offset >= (ulong)section.Length)
        {
            return "";
        }

        var span = section.AsSpan((int)offset);
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }
}
