using Parca.Pprof;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>One frame of a read-back stack: function, file, line and the mapping file (the language mark).</summary>
internal sealed record StackFrame(string Function, string File, long Line, string Mapping)
{
    public bool IsPython => Mapping == "[python]";

    public bool IsPerl => Mapping == "[perl]";

    public bool IsRuby => Mapping == "[ruby]";

    public bool IsPhp => Mapping == "[php]";

    public bool IsV8 => Mapping == "[v8js]";

    public bool IsInterpreted => IsPython || IsPerl || IsRuby || IsPhp || IsV8;

    public override string ToString() => IsInterpreted ? $"{Function} {Path.GetFileName(File)}:{Line}" : Function.Length > 0 ? Function : "?";
}

/// <summary>Stacks of a pprof file with every frame's function, file and line (go tool pprof -traces shows names only).</summary>
internal static class PprofFrames
{
    public static List<(long Value, StackFrame[] Frames)> Read(string path)
    {
        var profile = PprofDecoder.DecodeProfile(File.ReadAllBytes(path));
        var mappings = profile.Mappings.ToDictionary(m => m.Id, m => m.Filename);
        var functions = profile.Functions.ToDictionary(f => f.Id);
        var locations = new Dictionary<ulong, StackFrame[]>();
        foreach (var l in profile.Locations)
        {
            var mapping = mappings.GetValueOrDefault(l.MappingId, "");
            locations[l.Id] = l.Lines.Count == 0
                ? [new StackFrame("", "", 0, mapping)]
                : [.. l.Lines.Select(line => functions.TryGetValue(line.FunctionId, out var f)
                    ? new StackFrame(f.Name.Length > 0 ? f.Name : f.SystemName, f.Filename, line.LineNumber, mapping)
                    : new StackFrame("", "", line.LineNumber, mapping))];
        }

        return [.. profile.Samples.Select(s => (s.Values[0], s.LocationIds.SelectMany(id => locations[id]).ToArray()))];
    }

    /// <summary>
    /// How many samples a pprof file holds: the "count" sample type's total, or for a profile with only cpu
    /// nanoseconds (what the server returns for the agent's profile type) the total divided by the period.
    /// </summary>
    public static long SampleCount(string path)
    {
        var profile = PprofDecoder.DecodeProfile(File.ReadAllBytes(path));
        var count = profile.SampleTypes.ToList().FindIndex(t => t.Unit == "count");
        if (count >= 0)
        {
            return profile.Samples.Sum(s => s.Values[count]);
        }

        return profile.Period > 0 ? (long)Math.Round(profile.Samples.Sum(s => (double)s.Values[0]) / profile.Period) : 0;
    }

    public static string Format(List<(long Value, StackFrame[] Frames)> stacks) =>
        string.Join("\n", stacks.OrderByDescending(s => s.Value).Take(25).Select(s => $"{s.Value,6} {string.Join(" <- ", s.Frames.Select(f => f.ToString()))}"));
}
