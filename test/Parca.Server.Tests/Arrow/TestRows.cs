using Apache.Arrow;
using Parca.Agent.Shipping.Arrow;

namespace Parca.Server.Tests.Arrow;

/// <summary>Readable rows for the tests.</summary>
internal static class TestRows
{
    public static Frame Symbolized(string function, ulong address = 0, string? file = null, ulong line = 0) =>
        new(address, "native", "/usr/bin/app", "b1d", new FrameLine(function, file, line));

    /// <summary>A sample whose stack is given root first by function name ("main;work;leaf").</summary>
    public static ArrowSample Of(string rootFirst, long value, long timeNanos, params (string, string?)[] labels) =>
        new(rootFirst.Length == 0 ? [] : rootFirst.Split(';').Reverse().Select(f => Symbolized(f, (ulong)f.GetHashCode() & 0xffff)).ToArray(),
            value, labels.ToDictionary(l => l.Item1, l => l.Item2), timeNanos);
}

/// <summary>A change to a record before it is written: the bad inputs of the error tests.</summary>
internal sealed record RecordEdit(
    Func<List<Field>, List<Field>>? Fields = null,
    Func<List<IArrowArray>, List<IArrowArray>>? Columns = null,
    IReadOnlyDictionary<string, string>? Metadata = null,
    bool DropMetadata = false)
{
    public Schema Apply(Schema schema)
    {
        var fields = Fields?.Invoke([.. schema.FieldsList]) ?? [.. schema.FieldsList];
        var metadata = DropMetadata ? null : Metadata ?? schema.Metadata;
        return new Schema(fields, metadata);
    }
}
