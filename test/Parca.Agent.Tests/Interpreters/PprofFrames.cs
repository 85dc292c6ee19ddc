using Parca.Pprof;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>One frame of a read-back stack: function, file, line and the mapping file (the language mark).</summary>
internal sealed record StackFrame(string Function, string File, long Line, string Mapping)
{
    public bool IsPython => Mapping == "[python]";

    public override string ToString() => IsPython ? $"{Function} {Path.GetFileName(File)}:{Line}" : Function.Length > 0 ? Function : "?";
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

    public static string Format(List<(long Value, StackFrame[] Frames)> stacks) =>
        string.Join("\n", stacks.OrderByDescending(s => s.Value).Take(25).Select(s => $"{s.Value,6} {string.Join(" <- ", s.Frames.Select(f => f.ToString()))}"));
}
