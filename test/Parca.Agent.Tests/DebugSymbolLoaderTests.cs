using Microsoft.Extensions.Logging;
using Parca.Agent.Processes;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests;

/// <summary>A corrupt debug source in a mapped file costs one warning naming the file and one count, however often its table is reloaded.</summary>
public sealed class DebugSymbolLoaderTests
{
    [Fact]
    public void Corrupt_gnu_debugdata_is_logged_once_counted_once_and_dynsym_still_names_exports()
    {
        var dir = Directory.CreateTempSubdirectory("parca-agent-debugdata-").FullName;
        File.WriteAllText(Path.Combine(dir, "p.c"), "#include <stdio.h>\nint exported_fn(int x) { return x + 1; }\nint main(void) { printf(\"%d\\n\", exported_fn(1)); return 0; }\n");
        Tracees.Run("bash", $"-euo pipefail -c \"cd {dir} && clang -O1 -rdynamic -o p p.c && strip --strip-all p && printf '\\xfd7zXZ\\x00garbage-not-an-xz-stream' > junk && objcopy --add-section .gnu_debugdata=junk p\"");
        var path = Path.Combine(dir, "p");
        var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        var loader = new DebugSymbolLoader([], factory.CreateLogger("parca.agent.symbols"));
        var handle = File.OpenHandle(path);
        using var file = new ObjectFile(path, handle, ElfFile.Read(handle, path), null, loader);

        var exported = Tracees.Run("nm", "-D --defined-only " + path).Split('\n').Single(l => l.EndsWith(" exported_fn", StringComparison.Ordinal));
        var address = ulong.Parse(exported.Split(' ')[0], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(file.Symbols.TryLookup(address, out var name, out _));
            Assert.Equal("exported_fn", name);
            file.ReleaseSymbols(); // the byte budget dropped it; the next window reads it again
        }

        var warning = Assert.Single(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.StartsWith($"debuginfo skipped: {path}: .gnu_debugdata: corrupt xz stream", warning.Message, StringComparison.Ordinal);
        Assert.Equal(1, loader.Skipped);
        Directory.Delete(dir, recursive: true);
    }
}
