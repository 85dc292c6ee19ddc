using System.Globalization;
using System.Text.RegularExpressions;
using Parca.Symbols.Cfi;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Tests;

/// <summary>The .eh_frame/.debug_frame table compiler against binutils' own interpretation of the same CFI.</summary>
public sealed partial class CfiParserTests
{
    public static TheoryData<string> RealBinaries => new()
    {
        "/usr/bin/python3.11",
        "/usr/bin/perl",
        "/usr/bin/xz",
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    };

    [Theory]
    [MemberData(nameof(RealBinaries))]
    public void Every_row_of_readelf_frames_interp_has_the_same_cfa_rbp_and_return_address_rule(string path)
    {
        var rows = UnwindTableBuilder.Build(path, out var info);
        Assert.True(info.EhFrameFdes > 100, $"{path}: {info.EhFrameFdes} FDEs");
        // readelf exits 1 on stripped files when it cannot follow .gnu_debuglink, after printing the frames.
        var expected = ReadElfRows(Tools.Run("sh", $"-c \"readelf --debug-dump=frames-interp {path} 2>/dev/null || true\""));
        Assert.True(expected.Count > 1000, $"readelf printed {expected.Count} rows");
        var mismatches = new List<string>();
        foreach (var (pc, cfa, rbp, ra) in expected)
        {
            var row = Lookup(rows, pc);
            if (row is null)
            {
                mismatches.Add($"{pc:x}: no row; readelf {cfa} rbp={rbp} ra={ra}");
                continue;
            }

            if (!Matches(row.Value, cfa, rbp, ra))
            {
                mismatches.Add($"{pc:x}: ours {row}; readelf {cfa} rbp={rbp} ra={ra}");
            }
        }

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {expected.Count} rows differ:\n" + string.Join("\n", mismatches.Take(30)));
    }

    [Fact]
    public void Libc_signal_trampoline_plt_stubs_and_entry_points_get_their_special_rules()
    {
        var libc = UnwindTableBuilder.Build("/usr/lib/x86_64-linux-gnu/libc.so.6", out _);
        Assert.Single(libc, r => r.Cfa == CfaRule.Signal); // __restore_rt
        Assert.Contains(libc, r => r.Cfa == CfaRule.End);  // clone3 / clone's child side
        Assert.Contains(libc, r => r.Cfa is CfaRule.Plt11 or CfaRule.Plt10);

        var python = UnwindTableBuilder.Build("/usr/bin/python3.11", out _);
        Assert.Equal(CfaRule.End, Lookup(python, EntryPoint("/usr/bin/python3.11") + 4)!.Value.Cfa); // _start
    }

    [Fact]
    public void A_file_without_section_headers_is_read_through_eh_frame_hdr_with_the_same_rows()
    {
        var copy = Path.Combine(Path.GetTempPath(), $"cfi-noshdr-{Environment.ProcessId}");
        File.Copy("/usr/bin/xz", copy, overwrite: true);
        using (var f = File.Open(copy, FileMode.Open, FileAccess.ReadWrite))
        {
            // e_shoff = 0, e_shnum = 0: what sstrip leaves
            f.Position = 40;
            f.Write(new byte[8]);
            f.Position = 60;
            f.Write(new byte[2]);
        }

        var withHeaders = UnwindTableBuilder.Build("/usr/bin/xz", out _);
        var without = UnwindTableBuilder.Build(copy, out var info);
        Assert.True(info.FromEhFrameHdr);
        Assert.Equal(withHeaders, without);
        File.Delete(copy);
    }

    [Fact]
    public void Rows_are_sorted_unique_and_never_repeat_the_previous_rule()
    {
        var rows = UnwindTableBuilder.Build("/usr/lib/x86_64-linux-gnu/libc.so.6", out _);
        for (var i = 1; i < rows.Length; i++)
        {
            Assert.True(rows[i].Pc > rows[i - 1].Pc, $"row {i}: {rows[i]} after {rows[i - 1]}");
            Assert.False(rows[i].SameRule(rows[i - 1]), $"row {i}: {rows[i]} repeats {rows[i - 1]}");
        }
    }

    [Fact]
    public void Corrupt_and_truncated_eh_frame_sections_throw_only_InvalidDataException()
    {
        var elf = ElfFile.Open("/usr/bin/xz");
        var section = elf.Sections.Single(s => s.Name == ".eh_frame");
        var original = new byte[section.Size];
        using (var handle = File.OpenHandle("/usr/bin/xz"))
        {
            RandomAccess.Read(handle, original, (long)section.Offset);
        }

        var random = new Random(14);
        int parsed = 0, rejected = 0;
        for (var i = 0; i < 2000; i++)
        {
            var bytes = i % 4 == 0 ? original[..random.Next(original.Length)] : (byte[])original.Clone();
            for (var k = 0; k < 1 + (i % 8) && i % 4 != 0; k++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            try
            {
                var pending = new List<UnwindRowBuilder.Pending>();
                CfiParser.Parse(bytes, section.Address, debugFrame: i % 7 == 0, pending, null, null);
                UnwindRowBuilder.Build(pending);
                parsed++;
            }
            catch (InvalidDataException)
            {
                rejected++;
            }
        }

        Assert.True(rejected > 100 && parsed > 100, $"parsed {parsed}, rejected {rejected}");
    }

    [Fact]
    public void Every_elf_file_under_usr_bin_and_usr_lib_builds_or_is_rejected_with_a_named_reason()
    {
        int files = 0, built = 0, rejected = 0;
        long rows = 0, cfiBytes = 0;
        var reasons = new List<string>();
        foreach (var path in ElfFilesUnder("/usr/bin", "/usr/lib", "/usr/lib/debug"))
        {
            files++;
            try
            {
                rows += UnwindTableBuilder.Build(path, out var info).Length;
                cfiBytes += info.CfiBytes;
                built++;
            }
            catch (InvalidDataException e)
            {
                Assert.Contains(path, e.Message, StringComparison.Ordinal);
                rejected++;
                reasons.Add(e.Message);
            }
        }

        Assert.True(files > 500, $"only {files} ELF files found");
        // Debian's files are well-formed: a rejection here is a parser gap, not bad input.
        Assert.True(rejected <= files / 200, $"{rejected} of {files} rejected:\n" + string.Join("\n", reasons.Take(20)));
        Assert.True(rows > 100_000, $"{rows} rows from {cfiBytes} bytes");
    }

    internal static IEnumerable<string> ElfFilesUnder(params string[] roots)
    {
        var seen = new HashSet<string>();
        foreach (var root in roots)
        {
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var path in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint }))
            {
                if (!seen.Add(path))
                {
                    continue;
                }

                if (IsElf(path))
                {
                    yield return path;
                }
            }
        }
    }

    private static bool IsElf(string path)
    {
        Span<byte> magic = stackalloc byte[4];
        try
        {
            using var h = File.OpenHandle(path);
            return RandomAccess.Read(h, magic, 0) == 4 && magic.SequenceEqual("\u007fELF"u8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static UnwindRow? Lookup(UnwindRow[] rows, ulong pc)
    {
        int lo = 0, hi = rows.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (rows[mid].Pc <= pc)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found < 0 ? null : rows[found];
    }

    private static bool Matches(UnwindRow row, string cfa, string rbp, string ra)
    {
        if (ra == "u")
        {
            return row.Cfa == CfaRule.End;
        }

        if (cfa == "exp")
        {
            return row.Cfa is CfaRule.Plt10 or CfaRule.Plt11 or CfaRule.Signal or CfaRule.RbpDeref or CfaRule.Invalid;
        }

        var m = RuleRegex().Match(cfa);
        if (!m.Success || m.Groups[1].Value is not ("rsp" or "rbp") || ra != "c-8")
        {
            return row.Cfa == CfaRule.Invalid;
        }

        var offset = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
        var expectCfa = m.Groups[1].Value == "rsp" ? CfaRule.Rsp : CfaRule.Rbp;
        if (row.Cfa != expectCfa || row.CfaOffset != offset)
        {
            return false;
        }

        var r = RbpRegex().Match(rbp);
        return r.Success
            ? row.Rbp == RbpRule.CfaOffset && row.RbpOffset == -int.Parse(r.Groups[1].Value, CultureInfo.InvariantCulture)
            : row.Rbp == RbpRule.Unchanged;
    }

    /// <summary>(pc, CFA column, rbp column, ra column) of every row readelf prints for an FDE.</summary>
    private static List<(ulong Pc, string Cfa, string Rbp, string Ra)> ReadElfRows(string text)
    {
        var result = new List<(ulong, string, string, string)>();
        string[]? columns = null;
        var inFde = false;
        foreach (var line in text.Split('\n'))
        {
            if (line.Contains(" FDE ", StringComparison.Ordinal))
            {
                inFde = true;
                columns = null;
                continue;
            }

            if (line.Contains(" CIE", StringComparison.Ordinal) || line.Length == 0)
            {
                inFde = inFde && line.Length == 0 && columns is null;
                if (line.Contains(" CIE", StringComparison.Ordinal))
                {
                    inFde = false;
                }

                continue;
            }

            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 0 && fields[0] == "LOC")
            {
                columns = fields;
                continue;
            }

            if (!inFde || columns is null || fields.Length != columns.Length || !ulong.TryParse(fields[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var pc))
            {
                continue;
            }

            var rbp = Array.IndexOf(columns, "rbp");
            var ra = Array.IndexOf(columns, "ra");
            result.Add((pc, fields[1], rbp < 0 ? "u" : fields[rbp], ra < 0 ? "u" : fields[ra]));
        }

        // Several rows at one pc: the last holds there.
        return result.GroupBy(r => r.Item1).Select(g => g.Last()).ToList();
    }

    private static ulong EntryPoint(string path)
    {
        var header = new byte[32];
        using var h = File.OpenHandle(path);
        RandomAccess.Read(h, header, 0);
        return BitConverter.ToUInt64(header, 24);
    }

    [GeneratedRegex(@"^(\w+)([+-]\d+)$")]
    private static partial Regex RuleRegex();

    [GeneratedRegex(@"^c-(\d+)$")]
    private static partial Regex RbpRegex();
}
