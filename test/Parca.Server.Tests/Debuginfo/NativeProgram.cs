using System.Diagnostics;
using System.Globalization;
using Parca.Symbols.Elf;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// A C program the test builds with gcc -O2 -g (functions inlined into busy()), stripped, with its DWARF split
/// into a separate debug file (objcopy --only-keep-debug), and binutils' answers for its addresses.
/// </summary>
internal sealed class NativeProgram
{
    public const string Source = InlineCProgram.Source;

    private NativeProgram(string directory, string buildId)
    {
        Directory = directory;
        BuildId = buildId;
    }

    public string Directory { get; }
    public string Stripped => Path.Combine(Directory, "p");
    public string DebugFile => Path.Combine(Directory, "p.debug");
    public string BuildId { get; }

    public static NativeProgram Build(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "p.c"), Source);
        Run("bash", "-euo pipefail -c \"cd '" + directory + "' && gcc -O2 -g -Wl,--build-id -o p p.c && objcopy --only-keep-debug p p.debug && strip --strip-all p\"");
        return new NativeProgram(directory, ElfFile.Open(Path.Combine(directory, "p")).BuildId!);
    }

    /// <summary>
    /// The executable segment mapped as the kernel maps it at <paramref name="baseAddress"/>: a page-aligned start and
    /// the segment's page-aligned file offset, one page of slack at the end.
    /// </summary>
    public MappedText MapText(ulong baseAddress)
    {
        var (offset, vaddr, size) = TextSegment();
        var start = baseAddress + (vaddr & ~0xfffUL);
        return new MappedText(start, start + size + 0x1000, offset & ~0xfffUL, vaddr, offset);
    }

    /// <summary>The stripped binary's executable PT_LOAD: (file offset, virtual address, size).</summary>
    public (ulong Offset, ulong Vaddr, ulong Size) TextSegment()
    {
        var p = ElfFile.Open(Stripped).ProgramHeaders.First(h => h.Type == 1 && (h.Flags & 1) != 0);
        return (p.Offset, p.VirtualAddress, p.FileSize);
    }

    /// <summary>Addresses of busy() where addr2line -i reports inlined frames, and some where it reports none.</summary>
    public List<ulong> InterestingAddresses(int count)
    {
        var (_, vaddr, size) = TextSegment();
        var all = new List<ulong>();
        for (var a = vaddr; a < vaddr + size; a++)
        {
            all.Add(a);
        }

        var frames = Addr2line(all);
        var inlined = frames.Where(kv => kv.Value.Count >= 3).Select(kv => kv.Key).OrderBy(a => a).ToList();
        var plain = frames.Where(kv => kv.Value.Count == 1 && kv.Value[0].Line > 0).Select(kv => kv.Key).OrderBy(a => a).ToList();
        var picked = inlined.Where((_, i) => i % Math.Max(1, inlined.Count / count) == 0).Take(count).ToList();
        picked.AddRange(plain.Where((_, i) => i % Math.Max(1, plain.Count / 3) == 0).Take(3));
        return picked;
    }

    /// <summary>binutils addr2line -a -i -f on the debug file: per address the frames innermost first.</summary>
    public Dictionary<ulong, List<(string Function, string File, long Line)>> Addr2line(IReadOnlyList<ulong> addresses)
    {
        var input = string.Join('\n', addresses.Select(a => "0x" + a.ToString("x", CultureInfo.InvariantCulture))) + "\n";
        var output = Run("addr2line", "-a -i -f -e " + DebugFile, input).Split('\n');
        var result = new Dictionary<ulong, List<(string, string, long)>>();
        List<(string, string, long)>? current = null;
        for (var i = 0; i < output.Length; i++)
        {
            var l = output[i];
            if (l.StartsWith("0x", StringComparison.Ordinal))
            {
                current = [];
                result[ulong.Parse(l.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = current;
            }
            else if (current is not null && l.Length > 0 && i + 1 < output.Length)
            {
                var pos = output[++i];
                var d = pos.IndexOf(" (discriminator", StringComparison.Ordinal);
                pos = d < 0 ? pos : pos[..d];
                var colon = pos.LastIndexOf(':');
                var line = long.TryParse(pos.AsSpan(colon + 1), CultureInfo.InvariantCulture, out var n) ? n : 0;
                current.Add((l, pos[..colon] == "??" ? "" : pos[..colon], line));
            }
        }

        return result;
    }

    public static string Run(string file, string arguments, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + file);
        var writer = Task.Run(() =>
        {
            if (stdin is not null)
            {
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            }
        });
        var errors = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        writer.Wait();
        p.WaitForExit();
        return p.ExitCode == 0 ? stdout : throw new InvalidOperationException($"{file} {arguments}: exit {p.ExitCode}: {errors.Result}");
    }
}

/// <summary>A mapping of the program's text segment in a process (<see cref="NativeProgram.MapText"/>).</summary>
public sealed record MappedText(ulong Start, ulong Limit, ulong FileOffset, ulong SegmentVaddr, ulong SegmentOffset)
{
    /// <summary>The process address of ELF address <paramref name="pc"/>.</summary>
    public ulong Address(ulong pc) => pc - SegmentVaddr + SegmentOffset - FileOffset + Start;

    public List<ulong> Addresses(IEnumerable<ulong> pcs) => [.. pcs.Select(Address)];
}
