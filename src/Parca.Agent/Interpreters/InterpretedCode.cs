namespace Parca.Agent.Interpreters;

/// <summary>
/// One interpreted function as the symbol cache holds it (a Python code object, a Perl sub): its name, file and
/// first line, and how a sample's tag word gives the line that was running.
/// </summary>
internal abstract record InterpretedCode(string Name, string File, int FirstLine)
{
    /// <summary>Approximate bytes this entry holds in the cache.</summary>
    public abstract int Bytes { get; }

    /// <summary>The line running when the BPF walker read the frame whose tag word is <paramref name="tag"/>.</summary>
    public abstract int LineOf(ulong tag);
}
