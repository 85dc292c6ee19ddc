using System.Text;

namespace Parca.Hosting.Metrics;

/// <summary>One label set of an instrument: its running value (or histogram counts) and its label text as UTF-8.</summary>
internal sealed class PrometheusSeries(string key, int buckets)
{
    /// <summary>The rendered label set (<c>code="200",route="/query"</c>), the key among the instrument's series.</summary>
    public string Key { get; } = key;

    /// <summary><see cref="Key"/> as written into every line of this series.</summary>
    public byte[] Labels { get; } = Encoding.UTF8.GetBytes(key);

    public double Value;
    public long Count;
    public readonly long[] Counts = new long[buckets];

    /// <summary>The collection that last observed this series (observable instruments render only the current one).</summary>
    public int Generation;

    public void Record(double value, double[]? bounds, bool cumulative, int generation)
    {
        lock (this)
        {
            Generation = generation;
            if (bounds is not null)
            {
                Count++;
                Value += value;
                var i = Array.BinarySearch(bounds, value);
                i = i >= 0 ? i : ~i;
                if (i < Counts.Length)
                {
                    Counts[i]++;
                }
            }
            else if (cumulative)
            {
                Value += value;
            }
            else
            {
                Value = value;
            }
        }
    }
}
