using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Parca.Hosting.Metrics;

/// <summary>
/// The one Prometheus exporter of both programs (server and agent <c>/metrics</c>): collects
/// <c>System.Diagnostics.Metrics</c> instruments and renders them in the text exposition format (version 0.0.4).
/// Hand-written because the served alternatives change what a scraper sees: prometheus-net 8.2.1's MeterAdapter
/// renames every instrument to <c>{meter}_{instrument}</c>, exports .NET counters as Prometheus gauges, forgets series
/// unchanged for 5 minutes and keys its name tables by static dictionaries shared by every server in a process;
/// OpenTelemetry's Prometheus exporter is only a beta (1.20.1-beta.1). A render writes UTF-8 straight into the
/// caller's buffer from names, headers and label sets encoded once per instrument and series, so a scrape allocates
/// nothing of its own once the series exist (bench <c>MetricsExportBenchmarks</c>, numbers in bench/README.md).
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private readonly Func<Meter, bool> _exported;
    private readonly MeterListener _listener;
    private readonly ConcurrentDictionary<Instrument, PrometheusInstrument> _instruments = new();
    private readonly Lock _renderLock = new();
    private readonly ArrayBufferWriter<byte> _text = new(16 * 1024);
    private PrometheusInstrument[] _sorted = [];
    private int _instrumentsVersion;
    private int _sortedVersion = -1;
    private int _generation;
    private long _published;

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
                    var state = new PrometheusInstrument(instrument, Interlocked.Increment(ref _published));
                    _instruments[instrument] = state;
                    Interlocked.Increment(ref _instrumentsVersion);
                    listener.EnableMeasurementEvents(instrument, state);
                }
            },
            MeasurementsCompleted = (instrument, _) =>
            {
                _instruments.TryRemove(instrument, out PrometheusInstrument? _);
                Interlocked.Increment(ref _instrumentsVersion);
            },
        };
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((PrometheusInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((PrometheusInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((PrometheusInstrument)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((PrometheusInstrument)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>
    /// Renders every exported series into <paramref name="output"/> (e.g. the response's <c>BodyWriter</c>); observable
    /// instruments are sampled now. One render at a time: concurrent scrapes wait for each other.
    /// </summary>
    public void WriteTo(IBufferWriter<byte> output)
    {
        lock (_renderLock)
        {
            WriteLocked(output);
        }
    }

    /// <summary>The rendered text as a string (tests, the agent's small endpoint); the server writes bytes with <see cref="WriteTo"/>.</summary>
    public string Render()
    {
        lock (_renderLock)
        {
            _text.ResetWrittenCount();
            WriteLocked(_text);
            return Encoding.UTF8.GetString(_text.WrittenSpan);
        }
    }

    public void Dispose() => _listener.Dispose();

    private void WriteLocked(IBufferWriter<byte> output)
    {
        var generation = ++_generation;
        var instruments = Sorted();
        foreach (var state in instruments)
        {
            state.BeginCollect(generation);
        }

        _listener.RecordObservableInstruments();
        string? previous = null;
        foreach (var state in instruments)
        {
            // The same name from two meters: the first published wins, as a registry would refuse the second.
            if (!string.Equals(state.Name, previous, StringComparison.Ordinal))
            {
                state.Write(output);
                previous = state.Name;
            }
        }
    }

    /// <summary>The instruments by name (then by publication), re-sorted only when instruments came or went.</summary>
    private PrometheusInstrument[] Sorted()
    {
        var version = Volatile.Read(ref _instrumentsVersion);
        if (version != _sortedVersion)
        {
            var sorted = _instruments.Values.ToArray();
            Array.Sort(sorted, static (a, b) =>
            {
                var byName = string.CompareOrdinal(a.Name, b.Name);
                return byName != 0 ? byName : a.Published.CompareTo(b.Published);
            });
            _sorted = sorted;
            _sortedVersion = version;
        }

        return _sorted;
    }
}
