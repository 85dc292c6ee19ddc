using Google.Protobuf.Collections;
using OpenTelemetry.Proto.Common.V1;
using Parca.Storage;

namespace Parca.Ingest.Otlp;

/// <summary>
/// OTLP attributes as series labels, the way Parca maps them: resource, scope, profile and sample attributes with
/// a string value (trimmed, non-empty) become labels; other value kinds are left out. A name is sanitized as
/// Prometheus does (every character outside [a-zA-Z0-9_] becomes '_'; here a leading digit also gets a '_' in
/// front, since a selector could not name it otherwise). When two levels name the same label the outer one wins:
/// resource over scope over profile over sample.
/// </summary>
internal static class OtlpLabels
{
    /// <summary>Adds the string attributes of <paramref name="attributes"/>, overwriting labels already there.</summary>
    public static void Add(Dictionary<string, string> labels, RepeatedField<KeyValue> attributes)
    {
        foreach (var kv in attributes)
        {
            Set(labels, kv.Key, kv.Value, overwrite: true);
        }
    }

    /// <summary>Adds the string attributes of the dictionary entries <paramref name="indices"/>.</summary>
    public static void Add(Dictionary<string, string> labels, OtlpDictionary d, RepeatedField<int> indices, bool overwrite)
    {
        foreach (var i in indices)
        {
            var a = d.Attribute(i);
            Set(labels, d.String(a.KeyStrindex), a.Value, overwrite);
        }
    }

    public static LabelSet ToSet(Dictionary<string, string> labels)
    {
        var list = new List<Label>(labels.Count);
        foreach (var (k, v) in labels)
        {
            list.Add(new Label(k, v));
        }

        return LabelSet.From(list);
    }

    private static void Set(Dictionary<string, string> labels, string key, AnyValue? value, bool overwrite)
    {
        if (value is null || value.ValueCase != AnyValue.ValueOneofCase.StringValue)
        {
            return;
        }

        var v = value.StringValue.Trim();
        if (v.Length == 0)
        {
            return;
        }

        var name = Sanitize(key);
        if (name.Length == 0)
        {
            return; // an attribute without a key names no label
        }

        if (overwrite || !labels.ContainsKey(name))
        {
            labels[name] = v;
        }
    }

    /// <summary>Prometheus' label-name sanitizing (plus a '_' before a leading digit); "" stays "".</summary>
    public static string Sanitize(string s)
    {
        var clean = true;
        foreach (var c in s)
        {
            clean &= char.IsAsciiLetterOrDigit(c) || c == '_';
        }

        if (clean && (s.Length == 0 || !char.IsAsciiDigit(s[0])))
        {
            return s;
        }

        var sb = new System.Text.StringBuilder(s.Length + 1);
        if (s.Length > 0 && char.IsAsciiDigit(s[0]))
        {
            sb.Append('_');
        }

        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++; // one code point, one '_' (Go's regexp replaces runes, not UTF-16 units)
            }

            sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        }

        return sb.ToString();
    }
}
