using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Parca.Hosting.Metrics;

/// <summary>
/// One exported instrument: its series by label set, and its name, <c># HELP</c>/<c># TYPE</c> header and histogram
/// bucket bounds encoded as UTF-8 once. Measurements find their series without allocating (the label set is
/// compared in its rendered form, <see cref="PrometheusLabels"/>); only a new label set allocates.
/// </summary>
internal sealed class PrometheusInstrument
{
    private static readonly double[] s_defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<string, PrometheusSeries> _series = new(PrometheusLabels.Comparer);
    private readonly ConcurrentDictionary<string, PrometheusSeries>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _byTags;
    private readonly double[] _buckets;
    private readonly bool _histogram;
    private readonly bool _observable;
    private readonly bool _cumulative;
    private readonly byte[] _header;
    private readonly byte[] _name;
    private readonly byte[] _bucketName;
    private readonly byte[] _sumName;
    private readonly byte[] _countName;
    private readonly byte[][] _bucketBounds;
    private PrometheusSeries[] _sorted = [];
    private int _seriesVersion;
    private int _sortedVersion = -1;
    private int _generation;

    public PrometheusInstrument(Instrument instrument, long published)
    {
        Published = published;
        var type = instrument.GetType();
        var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        _observable = instrument.IsObservable;
        (var kind, _cumulative) = generic.Name switch
        {
            "Counter`1" => ("counter", true),
            "ObservableCounter`1" => ("counter", false),
            "UpDownCounter`1" => ("gauge", true),
            "ObservableUpDownCounter`1" => ("gauge", false),
            "Histogram`1" => ("histogram", true),
            _ => ("gauge", false),
        };
        _histogram = kind == "histogram";
        _buckets = _histogram ? Buckets(instrument) : [];
        Name = MetricName(instrument, kind);
        _byTags = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        _header = Encoding.UTF8.GetBytes($"# HELP {Name} {PrometheusLabels.Escape(instrument.Description ?? instrument.Name, help: true)}\n# TYPE {Name} {kind}\n");
        _name = Encoding.UTF8.GetBytes(Name);
        _bucketName = Encoding.UTF8.GetBytes(Name + "_bucket");
        _sumName = Encoding.UTF8.GetBytes(Name + "_sum");
        _countName = Encoding.UTF8.GetBytes(Name + "_count");
        _bucketBounds = new byte[_buckets.Length + 1][];
        for (var i = 0; i < _buckets.Length; i++)
        {
            _bucketBounds[i] = Encoding.UTF8.GetBytes("le=\"" + _buckets[i].ToString("R", CultureInfo.InvariantCulture) + "\"");
        }

        _bucketBounds[^1] = "le=\"+Inf\""u8.ToArray();
    }

    public string Name { get; }

    /// <summary>Publication order: among instruments of the same name the first one is exported.</summary>
    public long Published { get; }

    /// <summary>Starts a collection: an observable instrument's series not observed in it are not rendered (and dropped).</summary>
    public void BeginCollect(int generation) => Volatile.Write(ref _generation, generation);

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (!_byTags.TryGetValue(tags, out var series))
        {
            series = _series.GetOrAdd(PrometheusLabels.Text(tags), static (labels, buckets) => new PrometheusSeries(labels, buckets), _buckets.Length);
            Interlocked.Increment(ref _seriesVersion);
        }

        series.Record(value, _histogram ? _buckets : null, _cumulative, Volatile.Read(ref _generation));
    }

    public void Write(IBufferWriter<byte> output)
    {
        var all = Sorted();
        var stale = 0;
        var wroteHeader = false;
        foreach (var series in all)
        {
            lock (series)
            {
                if (_observable && series.Generation != _generation)
                {
                    stale++;
                    continue;
                }

                if (!wroteHeader)
                {
                    PrometheusText.Append(output, _header);
                    wroteHeader = true;
                }

                if (!_histogram)
                {
                    PrometheusText.Line(output, _name, series.Labels, null, series.Value);
                    continue;
                }

                long cumulative = 0;
                for (var i = 0; i < _buckets.Length; i++)
                {
                    cumulative += series.Counts[i];
                    PrometheusText.Line(output, _bucketName, series.Labels, _bucketBounds[i], cumulative);
                }

                PrometheusText.Line(output, _bucketName, series.Labels, _bucketBounds[^1], series.Count);
                PrometheusText.Line(output, _sumName, series.Labels, null, series.Value);
                PrometheusText.Line(output, _countName, series.Labels, null, series.Count);
            }
        }

        if (stale > 0)
        {
            // Label sets an observable callback no longer reports (an exited process, a removed target) go away.
            foreach (var series in all)
            {
                if (series.Generation != _generation && _series.TryRemove(new KeyValuePair<string, PrometheusSeries>(series.Key, series)))
                {
                    Interlocked.Increment(ref _seriesVersion);
                }
            }
        }
    }

    /// <summary>The series ordered by label text, re-sorted only when series came or went.</summary>
    private PrometheusSeries[] Sorted()
    {
        var version = Volatile.Read(ref _seriesVersion);
        if (version != _sortedVersion)
        {
            var sorted = _series.Values.ToArray();
            Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            _sorted = sorted;
            _sortedVersion = version;
        }

        return _sorted;
    }

    private static double[] Buckets(Instrument instrument)
    {
        var advice = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            _ => null,
        };
        return advice is { Count: > 0 } ? [.. advice] : s_defaultBuckets;
    }

    /// <summary>Prometheus names: dots become underscores; units and _total added where OpenTelemetry conventions omit them.</summary>
    internal static string MetricName(Instrument instrument, string type)
    {
        var name = new StringBuilder(instrument.Name.Length + 8);
        foreach (var c in instrument.Name)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or ':' ? c : '_');
        }

        var suffix = instrument.Unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            "ms" => "_milliseconds",
            _ => "",
        };
        if (suffix.Length > 0 && !name.ToString().Contains(suffix, StringComparison.Ordinal))
        {
            name.Append(suffix);
        }

        if (type == "counter" && !name.ToString().EndsWith("_total", StringComparison.Ordinal))
        {
            name.Append("_total");
        }

        return name.ToString();
    }
}
