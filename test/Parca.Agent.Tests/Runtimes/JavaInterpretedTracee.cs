using System.Text;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>
/// A Java chain that stays interpreted for the JVM's whole life without any JVM flag: HotSpot compiles no method
/// whose bytecode exceeds HugeMethodLimit (8000 bytes, with DontCompileHugeMethods on by default), neither normally
/// nor on-stack, so every method here carries a never-taken branch with an 1100-element array initializer (about
/// 8.6 KB of bytecode). Generated at test time rather than kept as 250 KB of source.
/// <c>tracee.interp.Interp SECONDS</c>: main → Outer.level1 → Middle.level2 → Inner.level3 → Leaf.burn, where burn
/// spends its time in one loop on the line <see cref="BurnLine"/> of Interp.java.
/// </summary>
internal static class JavaInterpretedTracee
{
    public const string MainClass = "tracee.interp.Interp";

    /// <summary>
    /// The chain, leaf first, as go tool pprof shows the agent's names of interpreted frames (package.Class.method(params);
    /// pprof drops a parameter list with brackets in it, so main shows without).
    /// </summary>
    public static readonly string[] Chain =
    [
        "tracee.interp.Leaf.burn(long)",
        "tracee.interp.Inner.level3(long)",
        "tracee.interp.Middle.level2(long)",
        "tracee.interp.Outer.level1(long)",
        "tracee.interp.Interp.main",
    ];

    private static readonly Lock s_lock = new();
    private static string? s_built;

    /// <summary>The line of Interp.java with burn's loop body.</summary>
    public static int BurnLine { get; private set; }

    /// <summary>The class path of the compiled tracee.</summary>
    public static string Build()
    {
        lock (s_lock)
        {
            if (s_built is not null)
            {
                return s_built;
            }

            var source = Path.Combine(Tracees.OutputDirectory, "java-interp-src", "tracee", "interp");
            Directory.CreateDirectory(source);
            var text = Source();
            BurnLine = Array.FindIndex(text.Split('\n'), l => l.Contains("// burn", StringComparison.Ordinal)) + 1;
            var file = Path.Combine(source, "Interp.java");
            File.WriteAllText(file, text);
            var output = Path.Combine(Tracees.OutputDirectory, "java-interp");
            Directory.CreateDirectory(output);
            Tracees.Run($"{JavaTracees.Home}/bin/javac", $"-d {output} {file}");
            s_built = output;
            return output;
        }
    }

    private static string Source()
    {
        var pad = new StringBuilder("        if (seed == 0x5DEECE66DL) { // never taken: makes the method too large for the JIT\n            int[] pad = {");
        pad.AppendJoin(", ", Enumerable.Range(0, 1100)).Append("};\n            Interp.sink += pad[(int) (seed & 1023)];\n        }\n");
        string Method(string signature, string body) => $"    {signature} {{\n{pad}{body}    }}\n";

        var s = new StringBuilder("package tracee.interp;\n\npublic final class Interp {\n    static volatile long sink;\n\n");
        s.Append(Method(
            "public static void main(String[] args)",
            "        long a = 1;\n        long end = System.nanoTime() + (long) (Double.parseDouble(args[0]) * 1e9);\n"
            + "        while (System.nanoTime() < end) {\n            a += Outer.level1(a);\n        }\n"
            + "        sink += a;\n        System.out.println(\"done \" + (sink & 1));\n").Replace("(String[] args) {\n", "(String[] args) {\n        long seed = args.length;\n", StringComparison.Ordinal));
        s.Append("}\n");
        foreach (var (type, method, callee) in new[] { ("Outer", "level1", "Middle.level2"), ("Middle", "level2", "Inner.level3"), ("Inner", "level3", "Leaf.burn") })
        {
            s.Append($"\nfinal class {type} {{\n").Append(Method($"static long {method}(long seed)", $"        return {callee}(seed ^ 0x2545F4914F6CDD1DL) + 1;\n")).Append("}\n");
        }

        s.Append("\nfinal class Leaf {\n").Append(Method(
            "static long burn(long seed)",
            "        long a = seed;\n        for (int i = 0; i < 100_000; i++) {\n            a = a * 0x9E3779B97F4A7C15L + i; // burn\n        }\n        return a;\n")).Append("}\n");
        return s.ToString();
    }
}
