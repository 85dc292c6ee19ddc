using System.Buffers;
using System.Globalization;
using System.Text;

namespace Parca.Hosting.Metrics;

/// <summary>
/// A measurement's tags as Prometheus label text: sorted by name, names reduced to <c>[a-zA-Z0-9_]</c>, values
/// escaped (<c>code="200",route="/query"</c>). <see cref="Comparer"/> compares tags with a series key in that form
/// without building a string, so recording into an existing series does not allocate.
/// </summary>
internal static class PrometheusLabels
{
    /// <summary>Ordinal on keys; tags are hashed and compared as the text they render to.</summary>
    public static TagsComparer Comparer { get; } = new();

    /// <summary>The label text of <paramref name="tags"/> (allocates: only for a new series).</summary>
    public static string Text(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        char[]? rented = null;
        try
        {
            return new string(Format(tags, stackalloc char[256], ref rented));
        }
        finally
        {
            Return(rented);
        }
    }

    public static string Escape(string text, bool help)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\\' => sb.Append(@"\\"),
                '\n' => sb.Append(@"\n"),
                '"' when !help => sb.Append("\\\""),
                _ => sb.Append(c),
            };
        }

        return sb.ToString();
    }

    /// <summary>Writes the label text into <paramref name="buffer"/>, or into a rented array when it does not fit.</summary>
    private static ReadOnlySpan<char> Format(ReadOnlySpan<KeyValuePair<string, object?>> tags, Span<char> buffer, ref char[]? rented)
    {
        if (tags.Length == 0)
        {
            return [];
        }

        // Tags come in the caller's order; the text is in name order. Few tags: an insertion sort of their indices.
        Span<int> order = tags.Length <= 16 ? stackalloc int[tags.Length] : new int[tags.Length];
        for (var i = 0; i < order.Length; i++)
        {
            var j = i;
            while (j > 0 && string.CompareOrdinal(tags[order[j - 1]].Key, tags[i].Key) > 0)
            {
                order[j] = order[j - 1];
                j--;
            }

            order[j] = i;
        }

        while (true)
        {
            if (TryFormat(tags, order, buffer, out var written))
            {
                return buffer[..written];
            }

            var larger = ArrayPool<char>.Shared.Rent(buffer.Length * 2);
            Return(rented);
            rented = larger;
            buffer = larger;
        }
    }

    private static bool TryFormat(ReadOnlySpan<KeyValuePair<string, object?>> tags, ReadOnlySpan<int> order, Span<char> buffer, out int written)
    {
        written = 0;
        Span<char> scratch = stackalloc char[64];
        foreach (var index in order)
        {
            var (key, value) = tags[index];
            if (written > 0 && !Put(buffer, ref written, ','))
            {
                return false;
            }

            foreach (var c in key)
            {
                if (!Put(buffer, ref written, char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_'))
                {
                    return false;
                }
            }

            if (!Put(buffer, ref written, '=') || !Put(buffer, ref written, '"') || !PutEscaped(buffer, ref written, ValueText(value, scratch)) || !Put(buffer, ref written, '"'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A tag value as <c>Convert.ToString(value, InvariantCulture)</c> writes it, formatted in place when it can be.</summary>
    private static ReadOnlySpan<char> ValueText(object? value, Span<char> scratch) => value switch
    {
        null => [],
        string s => s,
        bool b => b ? bool.TrueString : bool.FalseString,
        ISpanFormattable f when f.TryFormat(scratch, out var n, default, CultureInfo.InvariantCulture) => scratch[..n],
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    private static bool PutEscaped(Span<char> buffer, ref int written, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            var ok = c switch
            {
                '\\' => Put(buffer, ref written, '\\') && Put(buffer, ref written, '\\'),
                '\n' => Put(buffer, ref written, '\\') && Put(buffer, ref written, 'n'),
                '"' => Put(buffer, ref written, '\\') && Put(buffer, ref written, '"'),
                _ => Put(buffer, ref written, c),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool Put(Span<char> buffer, ref int written, char c)
    {
        if (written >= buffer.Length)
        {
            return false;
        }

        buffer[written++] = c;
        return true;
    }

    private static void Return(char[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    /// <summary>Series keys compared with measurement tags in their rendered form (both hashed the same way).</summary>
    internal sealed class TagsComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, string>
    {
        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string obj) => string.GetHashCode(obj.AsSpan());

        public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, string other)
        {
            char[]? rented = null;
            try
            {
                return Format(alternate, stackalloc char[256], ref rented).SequenceEqual(other);
            }
            finally
            {
                Return(rented);
            }
        }

        public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate)
        {
            char[]? rented = null;
            try
            {
                return string.GetHashCode(Format(alternate, stackalloc char[256], ref rented));
            }
            finally
            {
                Return(rented);
            }
        }

        public string Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => Text(alternate);
    }
}
