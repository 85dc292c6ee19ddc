using System.Globalization;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// The layout tests' common part: compile a C program against an interpreter's own headers that prints one
/// "name value" line per offsetof/sizeof/constant, run it, and compare the values with the agent's table.
/// </summary>
internal static class LayoutProgram
{
    /// <summary>The program's lines as name → value; gcc gets <paramref name="flags"/> before the source and <paramref name="libraries"/> after it.</summary>
    public static Dictionary<string, string> Run(string source, string flags, string libraries = "")
    {
        var dir = Directory.CreateTempSubdirectory("parca-interp-layout-").FullName;
        try
        {
            var file = Path.Combine(dir, "layout.c");
            File.WriteAllText(file, source);
            var exe = Path.Combine(dir, "layout");
            Tracees.Run("gcc", $"{flags} -o {exe} {file} {libraries}");
            return Tracees.Run(exe, "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Every (name, table value) pair equals the headers' value, each mismatch named.</summary>
    public static void AssertValues(Dictionary<string, string> headers, (string Name, int Value)[] table)
    {
        foreach (var (name, value) in table)
        {
            Assert.True(headers[name] == value.ToString(CultureInfo.InvariantCulture), $"{name}: the headers say {headers[name]}, the table {value}");
        }
    }
}
