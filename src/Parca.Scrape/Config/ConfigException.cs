namespace Parca.Scrape.Config;

/// <summary>A <c>parca.yaml</c> that cannot be used, with every problem found (each names its line and field).</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string source, IReadOnlyList<string> problems)
        : base($"invalid configuration {source}:\n  " + string.Join("\n  ", problems))
    {
        Problems = problems;
    }

    public ConfigException()
    {
        Problems = [];
    }

    public ConfigException(string message)
        : base(message)
    {
        Problems = [message];
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [message];
    }

    public IReadOnlyList<string> Problems { get; }
}
