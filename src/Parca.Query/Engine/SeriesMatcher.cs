using Parca.Query.Selectors;
using Parca.Storage;

namespace Parca.Query.Engine;

/// <summary>Finds a selector's series in a partition through the inverted index.</summary>
internal static class SeriesMatcher
{
    /// <param name="examined">Counts the series tested against the selector (in steps of 256): how far a query got.</param>
    public static List<int> Match(PartitionView view, Selector selector, CancellationToken cancellationToken, ref long examined)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = new List<int>();
        var candidates = view.Series.SeriesOfType(selector.Type);
        if (candidates.IsEmpty)
        {
            return result;
        }

        // Narrow with the postings of each equality matcher on a non-empty value (sorted lists: merge intersection).
        int[]? narrowed = null;
        foreach (var m in selector.Matchers)
        {
            if (m.Op != MatchOp.Equal || m.Value.Length == 0)
            {
                continue;
            }

            var postings = view.Series.Postings(m.Name, m.Value);
            narrowed = Intersect(narrowed ?? candidates.ToArray(), postings);
            if (narrowed.Length == 0)
            {
                return result;
            }
        }

        var ids = narrowed ?? candidates.ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            // Regex matchers cost time linear in the value; checking the token every 256 series keeps a cancelled
            // or timed-out query from scanning on through a large index.
            if ((i & 255) == 255)
            {
                Interlocked.Add(ref examined, 256);
                cancellationToken.ThrowIfCancellationRequested();
            }

            var id = ids[i];
            var s = view.Series.GetSeries(id);
            if (s.Type == selector.Type && selector.Matches(s.Labels))
            {
                result.Add(id);
            }
        }

        Interlocked.Add(ref examined, ids.Length & 255);
        return result;
    }

    private static int[] Intersect(int[] a, ReadOnlySpan<int> b)
    {
        var result = new List<int>(Math.Min(a.Length, b.Length));
        int i = 0, j = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j])
            {
                result.Add(a[i]);
                i++;
                j++;
            }
            else if (a[i] < b[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return [.. result];
    }
}
