using System.Globalization;
using Parca.Symbols.Jit;
using Parca.Symbols.Kernel;

namespace Parca.Symbols.Tests;

public sealed class KernelAndJitSymbolTests
{
    [Fact]
    public void Kallsyms_resolves_addresses_inside_kernel_functions()
    {
        var kernel = new KernelSymbols();
        Assert.True(kernel.Count > 10_000, "too few kernel symbols: is kptr_restrict hiding addresses? (run as root)");
        var line = File.ReadLines("/proc/kallsyms").First(l => l.EndsWith(" T do_syscall_64", StringComparison.Ordinal) || l.EndsWith(" t do_syscall_64", StringComparison.Ordinal));
        var address = ulong.Parse(line[..16], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Assert.Equal("do_syscall_64", kernel.Lookup(address));
        Assert.Equal("do_syscall_64", kernel.Lookup(address + 3));
        Assert.False(kernel.ReloadIfChanged());
    }

    [Fact]
    public void Every_text_symbol_of_the_running_kernel_resolves_to_its_own_name()
    {
        // Reference: a plain string parse of /proc/kallsyms. Addresses shared by several symbols are left out
        // (any of the names is right there). BPF programs loaded by other processes (the agent tests run alongside)
        // add and remove "[bpf]" symbols at any moment: compare only snapshots taken while the file stayed the same.
        string before, after;
        KernelSymbols kernel;
        var attempts = 0;
        do
        {
            before = File.ReadAllText("/proc/kallsyms");
            kernel = new KernelSymbols();
            after = File.ReadAllText("/proc/kallsyms");
        }
        while (before != after && ++attempts < 20);
        Assert.Equal(before, after);

        var expected = new Dictionary<ulong, string?>();
        foreach (var line in before.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 3 || fields[1] is not ("t" or "T" or "w" or "W"))
            {
                continue;
            }

            var address = ulong.Parse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var name = fields.Length > 3 ? fields[2] + " " + fields[3] : fields[2];
            expected[address] = expected.ContainsKey(address) ? null : name;
        }

        var checkedCount = 0;
        foreach (var (address, name) in expected)
        {
            if (name is not null && address != 0)
            {
                Assert.Equal(name, kernel.Lookup(address));
                checkedCount++;
            }
        }

        Assert.True(checkedCount > 10_000, $"only {checkedCount} symbols checked");
    }

    [Fact]
    public void Kallsyms_without_a_final_newline_and_other_symbol_kinds()
    {
        var dir = Directory.CreateTempSubdirectory();
        var kallsyms = Path.Combine(dir.FullName, "kallsyms");
        var modules = Path.Combine(dir.FullName, "modules");
        var longName = new string('x', 100_000); // longer than the reader's buffer
        File.WriteAllText(kallsyms, $"ffffffff81000000 T _stext\nffffffff81000080 D some_data\nffffffff81000100 W {longName}\nbad line\nffffffff81000200 t last_fn");
        File.WriteAllText(modules, "");
        var kernel = new KernelSymbols(kallsyms, modules);
        Assert.Equal(3, kernel.Count);
        Assert.Equal("_stext", kernel.Lookup(0xffffffff81000090)); // data symbols do not end a function
        Assert.Equal(longName, kernel.Lookup(0xffffffff81000100));
        Assert.Equal("last_fn", kernel.Lookup(0xffffffff81000201));
    }

    [Fact]
    public void Module_symbols_carry_the_module_name_and_reload_follows_module_changes()
    {
        var dir = Directory.CreateTempSubdirectory();
        var kallsyms = Path.Combine(dir.FullName, "kallsyms");
        var modules = Path.Combine(dir.FullName, "modules");
        File.WriteAllText(kallsyms, "ffffffff81000000 T _stext\nffffffff81000100 T start_kernel\nffffffffc0001000 t e1000_probe\t[e1000]\n");
        File.WriteAllText(modules, "e1000 100 0 - Live 0xffffffffc0000000\n");
        var kernel = new KernelSymbols(kallsyms, modules);
        Assert.Equal("e1000_probe [e1000]", kernel.Lookup(0xffffffffc0001010));
        Assert.Equal("start_kernel", kernel.Lookup(0xffffffff81000105));
        Assert.Null(kernel.Lookup(0xffffffff80000000));

        File.WriteAllText(modules, "e1000 100 1 - Live 0xffffffffc0000000\n"); // use count only: no reload
        Assert.False(kernel.ReloadIfChanged());
        File.WriteAllText(kallsyms, "ffffffff81000000 T _stext\nffffffffc0002000 t nvme_probe\t[nvme]\n");
        File.WriteAllText(modules, "nvme 100 0 - Live 0xffffffffc0002000\n");
        Assert.True(kernel.ReloadIfChanged());
        Assert.Equal("nvme_probe [nvme]", kernel.Lookup(0xffffffffc0002001));
        Assert.Equal(2, kernel.Loads);
    }

    [Fact]
    public void Perf_map_lines_resolve_and_malformed_lines_are_skipped()
    {
        var map = PerfMap.Parse(new StringReader(
            "7f0000001000 40 [OptimizedTier1] Program::Burn()[Optimized]\n" +
            "7f0000001040 20 instance void [System.Private.CoreLib] System.Object::.ctor()\n" +
            "garbage\n7f00000020\n"));
        Assert.Equal(2, map.Count);
        Assert.True(map.TryLookup(0x7f0000001010, out var name, out var start));
        Assert.Equal("[OptimizedTier1] Program::Burn()[Optimized]", name);
        Assert.Equal(0x7f0000001000UL, start);
        Assert.True(map.TryLookup(0x7f000000105f, out name, out _));
        Assert.Equal("instance void [System.Private.CoreLib] System.Object::.ctor()", name);
        Assert.False(map.TryLookup(0x7f0000001060, out _, out _));
    }

    [Fact]
    public void Namespace_pid_is_the_pid_itself_in_the_host_namespace()
    {
        Assert.Equal(Environment.ProcessId, PerfMap.NamespacePid(Environment.ProcessId));
        Assert.Equal($"/proc/42/root/tmp/perf-7.map", PerfMap.PathFor(42, 7));
    }
}
