using System.Text.Json;
using Parca.Agent.Interpreters;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// The 3.11 location-table decoder against CPython's own reading of it (code.co_lines() of Debian's python3.11)
/// for every code object of a few standard-library modules, and against torn tables.
/// </summary>
public sealed class PythonLineTableTests
{
    private const string Dump = """
        import json, sys, importlib, types
        def walk(code):
            yield code
            for c in code.co_consts:
                if isinstance(c, types.CodeType):
                    yield from walk(c)
        for name in ["json.decoder", "argparse", "asyncio.base_events", "email.message", "difflib"]:
            module = importlib.import_module(name)
            source = compile(open(module.__file__).read(), module.__file__, "exec")
            for code in walk(source):
                print(json.dumps({"name": code.co_qualname, "table": code.co_linetable.hex(), "first": code.co_firstlineno,
                                  "lines": [[s, e, l] for s, e, l in code.co_lines() if l is not None]}))
        """;

    [Fact]
    public void Every_instruction_of_stdlib_code_objects_has_the_line_CPython_gives_it()
    {
        var script = Path.Combine(Path.GetTempPath(), $"parca-linetable-{Guid.NewGuid():N}.py");
        File.WriteAllText(script, Dump);
        var output = Tracees.Run("/usr/bin/python3.11", script);
        File.Delete(script);
        var codes = 0;
        var instructions = 0;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var table = Convert.FromHexString(root.GetProperty("table").GetString()!);
            var first = root.GetProperty("first").GetInt32();
            foreach (var range in root.GetProperty("lines").EnumerateArray())
            {
                var (start, end, expected) = (range[0].GetInt32(), range[1].GetInt32(), range[2].GetInt32());
                for (var offset = start; offset < end; offset += 2)
                {
                    var actual = PythonLineTable.Line(PythonLineFormat.Locations311, table, first, offset / 2);
                    Assert.True(expected == actual, $"{root.GetProperty("name")}: instruction {offset / 2} is on line {expected}, decoded {actual}");
                    instructions++;
                }
            }

            codes++;
        }

        Assert.True(codes > 300 && instructions > 30_000, $"only {codes} code objects / {instructions} instructions compared");
    }

    [Theory]
    [InlineData(PythonLineFormat.Locations311)]
    [InlineData(PythonLineFormat.Linetable310)]
    [InlineData(PythonLineFormat.Lnotab)]
    internal void Torn_or_random_tables_give_a_line_and_never_throw(PythonLineFormat format)
    {
        var random = new Random(1234);
        for (var i = 0; i < 5000; i++)
        {
            var table = new byte[random.Next(0, 64)];
            random.NextBytes(table);
            _ = PythonLineTable.Line(format, table, 10, random.Next(-1, 200));
        }
    }
}
