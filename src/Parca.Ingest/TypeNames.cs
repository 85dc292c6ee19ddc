
namespace Parca.Ingest;

/// <summary>The rules a profile type part and a label name follow (the same as WriteRaw's).</summary>
internal static class TypeNames
{
    /// <summary>Letters, digits, '_' and '.' (a profile name, sample or period type or unit).</summary>
    public static bool IsTypePart(string s, bool allowEmpty)
    {
        if (s.Length == 0)
        {
            return allowEmpty;
        }

        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>[a-zA-Z_][a-zA-Z0-9_]*</summary>
    public static bool IsLabelName(string s)
    {
        if (s.Length == 0 || char.IsAsciiDigit(s[0]))
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    public static void CheckLabelName(string name, string column)
    {
        if (!IsLabelName(name))
        {
            throw new IngestError($"column '{column}': invalid label name '{name}' (must match [a-zA-Z_][a-zA-Z0-9_]*)");
        }
    }
}
