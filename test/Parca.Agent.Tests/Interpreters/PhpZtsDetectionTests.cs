using System.Text;
using Parca.Agent.Interpreters;
using Parca.Agent.Processes;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests.Interpreters;

/// <summary>
/// How PhpDetector places a thread-safe (ZTS) php's thread-local TSRM cache, on the real ZTS binary of
/// scripts/build-php-zts.sh and on copies of it with the evidence removed: the offset decoded from
/// tsrm_get_ls_cache_tcb_offset, the symbol table when that function is not decodable, and a precise problem when
/// neither is there or the ZTS build is a library (mapped, not the executable).
/// </summary>
public sealed class PhpZtsDetectionTests
{
    private const ulong Base = 0x5555_0000_0000;

    [Fact]
    public void Zts_executable_is_walked_through_the_thread_pointer_offset_of_its_TSRM_cache()
    {
        var path = PhpEndToEndTests.ZtsPhp();
        var php = Assert.IsType<PhpProcess>(Detect(path, path).Process);
        Assert.True(php.ThreadSafe);
        Assert.Equal(0UL, php.ExecutorGlobals);
        Assert.Equal(SymbolTableOffset(path), php.TlsOffset);
        Assert.Equal(Base + Symbol(path, "executor_globals_offset"), php.ExecutorGlobalsOffset);
        Assert.StartsWith("8.2.", php.Version, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_decodable_tcb_offset_function_the_symbol_table_places_the_cache()
    {
        var path = PatchedCopy("php", patchFunction: true, hideSymbol: false);
        var php = Assert.IsType<PhpProcess>(Detect(path, path).Process);
        Assert.Equal(SymbolTableOffset(PhpEndToEndTests.ZtsPhp()), php.TlsOffset);
    }

    [Fact]
    public void Without_either_the_build_is_reported_and_not_walked()
    {
        var path = PatchedCopy("php", patchFunction: true, hideSymbol: true);
        var found = Detect(path, path);
        Assert.Null(found.Process);
        Assert.Equal(path, found.Path);
        Assert.Equal("a thread-safe (ZTS) PHP build without the _tsrm_ls_cache symbol or a readable tsrm_get_ls_cache_tcb_offset; not walked", found.Problem);
    }

    [Fact]
    public void A_zts_libphp_is_reported_and_not_walked()
    {
        var path = PatchedCopy("libphp.so", patchFunction: false, hideSymbol: false);
        var found = Detect(path, "/usr/sbin/apache2");
        Assert.Null(found.Process);
        Assert.Equal("a thread-safe (ZTS) libphp keeps its thread-local TSRM cache at an offset only the dynamic loader knows; not walked", found.Problem);
    }

    private static PhpDetection Detect(string path, string executable)
    {
        var info = new ProcessInfo
        {
            Pid = 1_000_000,
            StartTime = 1,
            Comm = "php",
            ExecutablePath = executable,
            Mappings = [new MemoryMapping(Base, Base + 0x1000, 0, true, "fd:01", 1, path, MappingKind.File)],
        };
        var handle = File.OpenHandle(path);
        using var file = new ObjectFile(path, handle, ElfFile.Read(handle, path), null);
        return PhpDetector.Detect(info, _ => file);
    }

    private static ulong Symbol(string path, string name)
    {
        using var handle = File.OpenHandle(path);
        return ElfNamedSymbols.Find(ElfFile.Read(handle, path), handle, name)[name].Value;
    }

    private static long SymbolTableOffset(string path)
    {
        using var handle = File.OpenHandle(path);
        return InterpreterFiles.StaticTlsOffset(ElfFile.Read(handle, path), Symbol(path, "_tsrm_ls_cache"));
    }

    /// <summary>
    /// A copy of the ZTS php named <paramref name="name"/>: tsrm_get_ls_cache_tcb_offset's first instruction turned
    /// into a GOT load (as in a shared libphp), and/or the _tsrm_ls_cache name in .strtab renamed.
    /// </summary>
    private static string PatchedCopy(string name, bool patchFunction, bool hideSymbol)
    {
        var source = PhpEndToEndTests.ZtsPhp();
        var dir = Path.Combine(Tracees.OutputDirectory, "zts-php-" + (patchFunction ? "f" : "") + (hideSymbol ? "s" : ""));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        var bytes = File.ReadAllBytes(source);
        if (patchFunction)
        {
            using var handle = File.OpenHandle(source);
            var elf = ElfFile.Read(handle, source);
            var function = Symbol(source, "tsrm_get_ls_cache_tcb_offset");
            var load = elf.ProgramHeaders.First(p => p.Type == 1 && function >= p.VirtualAddress && function < p.VirtualAddress + p.FileSize);
            var at = (int)(function - load.VirtualAddress + load.Offset);
            Assert.Equal(0xc7, bytes[at + 1]);
            bytes[at + 1] = 0x8b;
            bytes[at + 2] = 0x05;
        }

        if (hideSymbol)
        {
            var marker = Encoding.ASCII.GetBytes("\0_tsrm_ls_cache\0");
            var at = bytes.AsSpan().IndexOf(marker);
            Assert.True(at > 0, "no _tsrm_ls_cache name in " + source);
            bytes[at + marker.Length - 2] = (byte)'X';
        }

        File.WriteAllBytes(path, bytes);
        return path;
    }
}
