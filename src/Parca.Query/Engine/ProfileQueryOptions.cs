using Parca.Query.Filters;

namespace Parca.Query.Engine;

/// <summary>Options of a profile query (Parca's QueryRequest fields besides the selection).</summary>
public sealed class ProfileQueryOptions
{
    public static ProfileQueryOptions Default { get; } = new();

    public IReadOnlyList<ProfileFilter> Filters { get; init; } = [];

    /// <summary>function_name, function_file_name, location_address, mapping_file, timestamp or labels.&lt;name&gt;.</summary>
    public IReadOnlyList<string> GroupBy { get; init; } = [];

    public bool InvertCallStack { get; init; }

    public string? SandwichByFunction { get; init; }

    /// <summary>Most label groups a group-by may produce (each holds one value per stack node); more is refused.</summary>
    public int MaxGroups { get; init; } = int.MaxValue;

    /// <summary>The caller's cancellation (the client's deadline or disconnect): the scan stops when it fires.</summary>
    public CancellationToken CancellationToken { get; init; }

    public static readonly string[] KnownGroupBy = ["function_name", "function_file_name", "location_address", "mapping_file", "timestamp"];

    /// <summary>Label names grouped by (<c>labels.x</c> → <c>x</c>).</summary>
    public IReadOnlyList<string> GroupByLabels()
    {
        var list = new List<string>();
        foreach (var g in GroupBy)
        {
            if (g.StartsWith("labels.", StringComparison.Ordinal) && !list.Contains(g[7..]))
            {
                list.Add(g[7..]);
            }
        }

        return list;
    }

    /// <summary>Throws InvalidArgument for an unknown group-by field.</summary>
    public void Validate()
    {
        foreach (var g in GroupBy)
        {
            if (!KnownGroupBy.Contains(g) && !(g.StartsWith("labels.", StringComparison.Ordinal) && g.Length > 7))
            {
                throw new QueryException(QueryErrorKind.InvalidArgument,
                    $"invalid group_by field '{g}': allowed are {string.Join(", ", KnownGroupBy)} and labels.<name>");
            }
        }
    }
}
