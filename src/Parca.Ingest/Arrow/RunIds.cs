namespace Parca.Ingest.Arrow;

/// <summary>
/// A run-end encoded column read row by row in order: each run's value was turned into one integer (a string id or
/// the value itself) up front, so a row costs a comparison with the current run's end.
/// </summary>
internal sealed class RunIds(string column, int[] runEnds, long[] ids)
{
    private int _run;

    public string Column { get; } = column;

    public long At(int row)
    {
        while (row >= runEnds[_run])
        {
            _run++;
        }

        return ids[_run];
    }

    /// <summary>The first row after the run the last <see cref="At"/> was in: until then the value stays the same.</summary>
    public int RunEnd => runEnds[_run];

    /// <summary>A plain (not run-end encoded) column: one run per row.</summary>
    public static RunIds PerRow(string column, long[] ids)
    {
        var ends = new int[ids.Length];
        for (var i = 0; i < ends.Length; i++)
        {
            ends[i] = i + 1;
        }

        return new RunIds(column, ends, ids);
    }
}
