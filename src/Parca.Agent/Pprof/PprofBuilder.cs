using System.IO.Compression;
using Parca.Pprof;

namespace Parca.Agent.Pprof;

/// <summary>
/// Builds one CPU profile on Parca.Pprof's model: sample types samples/count + cpu/nanoseconds, period type
/// cpu/nanoseconds, period = 1e9 / frequency; functions deduplicated by (name, file); written gzipped by PprofEncoder.
/// </summary>
internal sealed class PprofBuilder
{
    private readonly Profile _profile = new();
    private readonly Dictionary<(string, string), ulong> _functionIds = [];

    public PprofBuilder(long periodNanos, long timeNanos, long durationNanos)
    {
        _profile.SampleTypes.Add(new PprofValueType("samples", "count"));
        _profile.SampleTypes.Add(new PprofValueType("cpu", "nanoseconds"));
        _profile.PeriodType = new PprofValueType("cpu", "nanoseconds");
        _profile.Period = periodNanos;
        _profile.TimeNanos = timeNanos;
        _profile.DurationNanos = durationNanos;
    }

    public long TotalCount { get; private set; }

    public int SampleCount => _profile.Samples.Count;

    public IReadOnlyList<Mapping> Mappings => _profile.Mappings;

    public ulong AddMapping(ulong start, ulong limit, ulong offset, string file, string? buildId, bool hasFunctions)
    {
        var id = (ulong)_profile.Mappings.Count + 1;
        _profile.Mappings.Add(new Mapping
        {
            Id = id,
            MemoryStart = start,
            MemoryLimit = limit,
            FileOffset = offset,
            Filename = file,
            BuildId = buildId ?? "",
            HasFunctions = hasFunctions,
        });
        return id;
    }

    public ulong Function(string name, string file, long startLine = 0)
    {
        if (!_functionIds.TryGetValue((name, file), out var id))
        {
            id = (ulong)_profile.Functions.Count + 1;
            _profile.Functions.Add(new Function { Id = id, Name = name, SystemName = name, Filename = file, StartLine = startLine });
            _functionIds[(name, file)] = id;
        }

        return id;
    }

    public ulong AddLocation(ulong mappingId, ulong address, ulong functionId, long line = 0)
    {
        var id = (ulong)_profile.Locations.Count + 1;
        var location = new Location { Id = id, MappingId = mappingId, Address = address };
        if (functionId != 0)
        {
            location.Lines.Add(new Line(functionId, line));
        }

        _profile.Locations.Add(location);
        return id;
    }

    /// <summary>Adds a sample with its locations leaf first.</summary>
    public void AddSample(ulong[] locationIds, long count)
    {
        _profile.Samples.Add(new Sample { LocationIds = locationIds, Values = [count, count * _profile.Period] });
        TotalCount += count;
    }

    /// <summary>The gzipped profile.proto bytes (fastest level: the agent compresses every window on a small budget).</summary>
    public byte[] ToGzip() => PprofEncoder.Encode(_profile, compress: true, CompressionLevel.Fastest);
}
