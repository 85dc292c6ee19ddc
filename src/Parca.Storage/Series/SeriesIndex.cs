using System.Collections.Concurrent;
using Parca.Storage.Internal;

namespace Parca.Storage.Series;

/// <summary>
/// Series (profile type + label set) of a partition with an inverted index: label name → value → series ids
/// (postings, ascending), and profile type → series ids. Each series lists its profiles (row indexes).
/// One writer; readers are lock-free (append-only lists, concurrent dictionaries).
/// </summary>
public sealed class SeriesIndex
{
    private readonly AppendList<ProfileType> _types = new(8);
    private readonly Dictionary<ProfileType, int> _typeIds = [];
    private readonly AppendList<AppendList<int>> _seriesByType = new(8);
    private readonly AppendList<SeriesEntry> _series = new(64);
    private readonly Dictionary<(int, LabelSet), int> _seriesIds = [];
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, AppendList<int>>> _postings = new(StringComparer.Ordinal);

    public int TypeCount => _types.Count;

    public int SeriesCount => _series.Count;

    public ProfileType GetProfileType(int typeId) => _types.Snapshot()[typeId];

    public ReadOnlySpan<ProfileType> ProfileTypes => _types.Snapshot();

    public SeriesEntry GetSeries(int seriesId) => _series.Snapshot()[seriesId];

    /// <summary>Series ids of a profile type, or empty when the type is unknown here.</summary>
    public ReadOnlySpan<int> SeriesOfType(ProfileType type)
    {
        var types = _types.Snapshot();
        for (var i = 0; i < types.Length; i++)
        {
            if (types[i] == type)
            {
                return _seriesByType.Snapshot()[i].Snapshot();
            }
        }

        return [];
    }

    public ReadOnlySpan<int> SeriesOfType(int typeId) => _seriesByType.Snapshot()[typeId].Snapshot();

    /// <summary>Series ids with label <paramref name="name"/> = <paramref name="value"/>.</summary>
    public ReadOnlySpan<int> Postings(string name, string value) =>
        _postings.TryGetValue(name, out var values) && values.TryGetValue(value, out var list) ? list.Snapshot() : [];

    public IEnumerable<string> LabelNames => _postings.Keys;

    /// <summary>The values a label takes in this partition.</summary>
    public IEnumerable<string> LabelValues(string name) =>
        _postings.TryGetValue(name, out var values) ? values.Keys : [];

    internal int TypeId(ProfileType type)
    {
        if (!_typeIds.TryGetValue(type, out var id))
        {
            _seriesByType.Add(new AppendList<int>(16));
            id = _types.Add(type);
            _typeIds.Add(type, id);
        }

        return id;
    }

    /// <summary>Writer only: whether the type and label set already form a series.</summary>
    internal bool Contains(ProfileType type, LabelSet labels) =>
        _typeIds.TryGetValue(type, out var typeId) && _seriesIds.ContainsKey((typeId, labels));

    /// <summary>Writer only: the series id for a type and label set, created when new.</summary>
    internal int GetOrAdd(ProfileType type, LabelSet labels)
    {
        var typeId = TypeId(type);
        if (_seriesIds.TryGetValue((typeId, labels), out var id))
        {
            return id;
        }

        id = _series.Add(new SeriesEntry(id: _series.Count, typeId, type, labels));
        _seriesIds.Add((typeId, labels), id);
        _seriesByType.Snapshot()[typeId].Add(id);
        foreach (var l in labels.Labels)
        {
            var values = _postings.GetOrAdd(l.Name, static _ => new ConcurrentDictionary<string, AppendList<int>>(StringComparer.Ordinal));
            values.GetOrAdd(l.Value, static _ => new AppendList<int>(4)).Add(id);
        }

        return id;
    }
}

/// <summary>A series: its profile type, labels and the row indexes of its profiles (in arrival order).</summary>
public sealed class SeriesEntry
{
    internal SeriesEntry(int id, int typeId, ProfileType type, LabelSet labels)
    {
        Id = id;
        TypeId = typeId;
        Type = type;
        Labels = labels;
    }

    public int Id { get; }
    public int TypeId { get; }
    public ProfileType Type { get; }
    public LabelSet Labels { get; }

    internal AppendList<int> Profiles { get; } = new(8);

    public ReadOnlySpan<int> ProfileRows => Profiles.Snapshot();
}
