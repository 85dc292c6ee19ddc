using System.Diagnostics;
using System.Globalization;
using Parca.Agent.Interpreters;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// The BPF walker sends a Python code object's address without a fingerprint; the symbol cache checks each cached
/// object at its address once per window. A real python3.11 frees a code object and allocates another at the same
/// address (CPython's allocator hands a freed block of the size class out again), and the cache must name the new one
/// from the next window on.
/// </summary>
public sealed class PythonCodeReuseTests
{
    // Code objects made with CodeType.replace: one allocation of the template's size per call, so a freed one's
    // block comes back to the next. Each step waits for a line on stdin so that the test reads between them.
    private const string Script = """
        import sys
        def template():
            return 1
        code = template.__code__.replace(co_name="first", co_qualname="first", co_firstlineno=100)
        address = id(code)
        print("code", address, flush=True)
        sys.stdin.readline()
        del code
        keep = []
        for _ in range(100000):
            other = template.__code__.replace(co_name="second", co_qualname="second", co_firstlineno=200)
            if id(other) == address:
                break
            keep.append(other)
        else:
            print("no reuse", flush=True)
            sys.exit(1)
        print("reused", id(other), flush=True)
        sys.stdin.readline()
        """;

    [Fact]
    public async Task A_code_object_allocated_at_a_freed_ones_address_is_named_from_the_next_window_on()
    {
        var layout = PythonLayouts.ForMinor(11)!;
        var script = Path.Combine(Path.GetTempPath(), $"parca-code-reuse-{Guid.NewGuid():N}.py");
        File.WriteAllText(script, Script);
        var psi = new ProcessStartInfo("/usr/bin/python3.11", script) { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
        using var python = Process.Start(psi)!;
        try
        {
            var address = ulong.Parse((await python.StandardOutput.ReadLineAsync())!.Split(' ')[1], CultureInfo.InvariantCulture);
            var key = new CodeKey(python.Id, address, 0); // Python tags carry no fingerprint
            await using var cache = new InterpreterSymbolCache(k => PythonCodeReader.Read(k.Pid, layout, k.Address), 16, (k, c) => PythonCodeReader.IsSame(k.Pid, layout, k.Address, (PythonCode)c));
            cache.NewWindow();
            var first = cache.Get(key);
            Assert.Equal(("first", 100), (first?.Name, first?.FirstLine));

            await python.StandardInput.WriteLineAsync();
            await python.StandardInput.FlushAsync();
            var reused = (await python.StandardOutput.ReadLineAsync())!;
            Assert.Equal($"reused {address}", reused);

            // Within the window that already checked the entry, it is not read again (the cost the check saves).
            Assert.Same(first, cache.Get(key));
            cache.NewWindow();
            var second = cache.Get(key);
            Assert.Equal(("second", 200), (second?.Name, second?.FirstLine));
            Assert.Equal(1, cache.Replaced);
            Assert.Equal(1, cache.Count);

            // Unchanged in the window after: checked again, kept.
            cache.NewWindow();
            Assert.Same(second, cache.Get(key));
            Assert.Equal(1, cache.Replaced);

            await python.StandardInput.WriteLineAsync();
            await python.StandardInput.FlushAsync();
            await python.WaitForExitAsync();

            // The process is gone: nothing can be reused any more, the entry stays (a short-lived process's last window).
            cache.NewWindow();
            Assert.Same(second, cache.Get(key));
        }
        finally
        {
            if (!python.HasExited)
            {
                python.Kill();
            }

            File.Delete(script);
        }
    }
}
