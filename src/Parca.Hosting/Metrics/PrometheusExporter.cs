using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Parca.Hosting.Metrics;

/// <summary>
/// The one Prometheus exporter of both programs (server and agent <c>/metrics</c>): collects
/// <c>System.Diagnostics.Metrics</c> instruments and renders them in the text exposition format (version 0.0.4).
/// Kept hand-written for now although measured slower (bench <c>MetricsExportBenchmarks</c>, bench/README.md: one
/// server-sized scrape 15.8 ms vs 0.42 ms for prometheus-net 8.2.1, under load 62): prometheus-net's MeterAdapter
/// renames every instrument to <c>{meter}_{instrument}</c>, exports .NET counters as Prometheus gauges, forgets series
/// unchanged for 5 minutes and keys its name tables by static dictionaries shared by every server in a process, which
/// would break Parca's metric names and counter types; OpenTelemetry's Prometheus exporter is only a beta
/// (1.20.1-beta.1). Making this render allocation-free (it sorts and builds strings per scrape) is open work.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] s_defaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Func<Meter, bool> _exported;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();

    /// <param name="exported">which meters this exporter renders (e.g. only the ones of one server's <c>IMeterFactory</c>,
    /// so two servers in one test process do not mix).</param>
    public PrometheusExporter(Func<Meter, bool> exported)
    {
        _exported = exported;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (_exported(instrument.Meter))
                {
                    _instruments[instrument] = new InstrumentState(instrument);
                    listener.EnableMeasurementEvents(instrument, _instruments[instrument]);
                }
            },
            MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentState? _),
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Renders every exported series; observable instruments are sampled now.</summary>
    public string Render()
    {
        foreach (var state in _instruments.Values)
        {
            state.BeginCollect();
        }

        _listener.RecordObservableInstruments();
        var sb = new StringBuilder(16 * 1024);
        var byName = new SortedDictionary<string, InstrumentState>(StringComparer.Ordinal);
        foreach (var state in _instruments.Values)
        {
            byName.TryAdd(state.Name, state); // same name from two meters: first wins, like a registry would refuse it
        }

        foreach (var state in byName.Values)
        {
            state.Write(sb);
        }

        return sb.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private sealed class InstrumentState
    {
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly Instrument _instrument;
        private readonly string _type;
        private readonly double[] _buckets;
        private readonly bool _observable;
        private readonly bool _cumulative;

        public InstrumentState(Instrument instrument)
        {
            _instrument = instrument;
            var type = instrument.GetType();
            var generic = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            _observable = instrument.IsObservable;
            (_type, _cumulative) = generic.Name switch
            {
                "Counter`1" => ("counter", true),
                "ObservableCounter`1" => ("counter", false),
                "UpDownCounter`1" => ("gauge", true),
                "ObservableUpDownCounter`1" => ("gauge", false),
                "Histogram`1" => ("histogram", true),
                _ => ("gauge", false),
            };
            _buckets = _type == "histogram" ? Buckets(instrument) : [];
            Name = MetricName(instrument, _type);
        }

        public string Name { get; }

        public void BeginCollect()
        {
            if (_observable)
            {
                _series.Clear();
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var key = LabelText(tags);
            var series = _series.GetOrAdd(key, static (_, b) => new Series(b.Length), _buckets);
            series.Record(value, _type == "histogram" ? _buckets : null, _cumulative);
        }

        public void Write(StringBuilder sb)
        {
            if (_series.IsEmpty)
            {
                return;
            }

            sb.Append("# HELP ").Append(Name).Append(' ').Append(Escape(_instrument.Description ?? _instrument.Name, help: true)).Append('\n');
            sb.Append("# TYPE ").Append(Name).Append(' ').Append(_type).Append('\n');
            foreach (var (labels, series) in _series.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                lock (series)
                {
                    if (_type != "histogram")
                    {
                        Line(sb, Name, labels, null, series.Value);
                        continue;
                    }

                    long cumulative = 0;
                    for (var i = 0; i < _buckets.Length; i++)
                    {
                        cumulative += series.Counts[i];
                        Line(sb, Name + "_bucket", labels, Format(_buckets[i]), cumulative);
                    }

                    Line(sb, Name + "_bucket", labels, "+Inf", series.Count);
                    Line(sb, Name + "_sum", labels, null, series.Value);
                    Line(sb, Name + "_count", labels, null, series.Count);
                }
            }
        }

        private static void Line(StringBuilder sb, string name, string labels, string? le, double value)
        {
            sb.Append(name);
            if (labels.Length > 0 || le is not null)
            {
                sb.Append('{').Append(labels);
                if (le is not null)
                {
                    sb.Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
                }

                sb.Append('}');
            }

            sb.Append(' ').Append(Format(value)).Append('\n');
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
    }

    private sealed class Series(int buckets)
    {
        public double Value;
        public long Count;
        public readonly long[] Counts = new long[buckets];

        public void Record(double value, double[]? bounds, bool cumulative)
        {
            lock (this)
            {
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

    private static string LabelText(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }

        var sorted = tags.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var sb = new StringBuilder();
        foreach (var (key, value) in sorted)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }

            foreach (var c in key)
            {
                sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
            }

            sb.Append("=\"").Append(Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "", help: false)).Append('"');
        }

        return sb.ToString();
    }

    private static string Escape(string text, bool help)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    sb.Append(@"\\");
                    break;
                case '\n':
                    sb.Append(@"\n");
                    break;
                case '"' when !help:
                    sb.Append("\\\"");
                    break;
                default:
                    sb.Append(c);
                    break;
            }
        }

        return sb.ToString();
    }

    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf"
        : double.IsNegativeInfinity(value) ? "-Inf"
        : double.IsNaN(value) ? "NaN"
        : value.ToString("R", CultureInfo.InvariantCulture);
}
