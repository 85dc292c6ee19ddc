namespace Parca.Query.Engine;

/// <summary>Why a query failed: the API layer maps it to a gRPC status.</summary>
public enum QueryErrorKind
{
    InvalidArgument,
    NotFound,

    /// <summary>A query limit (groups, points) was reached; the message names it.</summary>
    ResourceExhausted,
}

/// <summary>A query that cannot be answered, with what was wrong.</summary>
public sealed class QueryException : Exception
{
    public QueryException(QueryErrorKind kind, string message)
        : base(message) => Kind = kind;

    public QueryException()
    {
    }

    public QueryException(string message)
        : base(message)
    {
    }

    public QueryException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public QueryErrorKind Kind { get; }
}
