namespace Parca.Symbols.Jit;

/// <summary>
/// The names HotSpot writes into its perf map (Compiler.perfmap): "RETURN package.Class.method(params)" for compiled
/// Java methods, the blob's own name ("Interpreter", "StubRoutines (1)", "I2C/C2I adapters(0x...)") for the rest.
/// A method's return type is dropped so the frame reads package.Class.method(params); blob names stay as they are.
/// </summary>
public static class JavaSymbolName
{
    public static string Normalize(string name)
    {
        var paren = name.IndexOf('(');
        if (paren <= 0)
        {
            return name;
        }

        // The qualified method is the token right before '(' and holds a '.'; "StubRoutines (1)" has an empty token
        // and "adapters(0x...)" none with a '.', so neither is touched.
        var space = name.LastIndexOf(' ', paren - 1);
        if (space <= 0 || space == paren - 1 || name.AsSpan(space + 1, paren - space - 1).IndexOf('.') < 0)
        {
            return name;
        }

        return name[(space + 1)..];
    }
}
