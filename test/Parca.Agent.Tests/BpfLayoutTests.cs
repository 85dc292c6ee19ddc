using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Parca.Agent.Bpf;
using Parca.Symbols.Cfi;

namespace Parca.Agent.Tests;

/// <summary>The C# mirror of bpf/parca_agent.h must match the C layout byte for byte: clang tells us the C side.</summary>
public sealed class BpfLayoutTests
{
    [Fact]
    public void Sample_struct_matches_the_shared_header()
    {
        var dir = Directory.CreateTempSubdirectory("parca-layout-").FullName;
        var source = Path.Combine(dir, "layout.c");
        File.WriteAllText(source, """
            #include <stdio.h>
            #include <stddef.h>
            #include <linux/types.h>
            #include "parca_agent.h"
            #define F(name) printf(#name " %zu\n", offsetof(struct parca_sample, name));
            int main(void) {
                printf("size %zu\n", sizeof(struct parca_sample));
                F(timestamp_ns) F(pid) F(tid) F(cpu) F(flags) F(kernel_len) F(user_len) F(comm) F(frames)
                printf("depth %d\ncomm_len %d\nstats %d\n", PARCA_MAX_STACK_DEPTH, PARCA_TASK_COMM_LEN, PARCA_STAT_COUNT);
                printf("flagbits %d %d %d %d\n", PARCA_SAMPLE_USER_TRUNCATED, PARCA_SAMPLE_USER_READ_FAILED, PARCA_SAMPLE_KERNEL_MODE, PARCA_SAMPLE_USER_IMPLAUSIBLE);
                printf("implausible %d\n", PARCA_STAT_USER_IMPLAUSIBLE);
                return 0;
            }
            """);
        var exe = Path.Combine(dir, "layout");
        Tracees.Run("clang", $"-I{Path.Combine(RepoPaths.Root, "bpf")} -o {exe} {source}");
        var c = Tracees.Run(exe, "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1]);

        Assert.Equal(c["size"], Unsafe.SizeOf<BpfSample>().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c["timestamp_ns"], Offset(nameof(BpfSample.TimestampNs)));
        Assert.Equal(c["pid"], Offset(nameof(BpfSample.Pid)));
        Assert.Equal(c["tid"], Offset(nameof(BpfSample.Tid)));
        Assert.Equal(c["cpu"], Offset(nameof(BpfSample.Cpu)));
        Assert.Equal(c["flags"], Offset(nameof(BpfSample.Flags)));
        Assert.Equal(c["kernel_len"], Offset(nameof(BpfSample.KernelLength)));
        Assert.Equal(c["user_len"], Offset(nameof(BpfSample.UserLength)));
        Assert.Equal(c["comm"], Offset(nameof(BpfSample.Comm)));
        Assert.Equal(c["frames"], Offset(nameof(BpfSample.Frames)));
        Assert.Equal(c["frames"], BpfSample.HeaderBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c["depth"], BpfSample.MaxStackDepth.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c["comm_len"], BpfSample.CommLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c["stats"], ((int)BpfStat.Count).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(c["flagbits"], $"{BpfSample.FlagUserTruncated} {BpfSample.FlagUserReadFailed} {BpfSample.FlagKernelMode} {BpfSample.FlagUserImplausible}");
        Assert.Equal(c["implausible"], ((int)BpfStat.UserImplausible).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Unwind_structs_match_the_shared_header()
    {
        var dir = Directory.CreateTempSubdirectory("parca-layout-").FullName;
        var source = Path.Combine(dir, "layout.c");
        File.WriteAllText(source, """
            #include <stdio.h>
            #include <stddef.h>
            #include <linux/types.h>
            #include "parca_agent.h"
            int main(void) {
                printf("row %zu %zu %zu %zu %zu\n", sizeof(struct parca_unwind_row), offsetof(struct parca_unwind_row, cfa_type),
                    offsetof(struct parca_unwind_row, rbp_type), offsetof(struct parca_unwind_row, rbp_offset), offsetof(struct parca_unwind_row, cfa_offset));
                printf("process %zu %zu %zu %d\n", sizeof(struct parca_process), sizeof(struct parca_mapping), offsetof(struct parca_mapping, table_id), PARCA_MAX_MAPPINGS);
                printf("rules %d %d %d %d %d %d %d %d %d\n", PARCA_CFA_INVALID, PARCA_CFA_RSP, PARCA_CFA_RBP, PARCA_CFA_PLT11, PARCA_CFA_PLT10, PARCA_CFA_SIGNAL, PARCA_CFA_END, PARCA_CFA_RBP_DEREF, PARCA_RBP_CFA_OFFSET);
                return 0;
            }
            """);
        var exe = Path.Combine(dir, "layout");
        Tracees.Run("clang", $"-I{Path.Combine(RepoPaths.Root, "bpf")} -o {exe} {source}");
        var c = Tracees.Run(exe, "").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2)).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal($"{Unsafe.SizeOf<Parca.Symbols.Cfi.UnwindRow>()} 4 5 6 8", c["row"]);
        Assert.Equal(Parca.Symbols.Cfi.UnwindRow.Size, Unsafe.SizeOf<Parca.Symbols.Cfi.UnwindRow>());
        Assert.Equal($"{Parca.Agent.Unwinding.UnwindMaps.ProcessBytes} {Parca.Agent.Unwinding.UnwindMaps.MappingBytes} 24 {Parca.Agent.Unwinding.UnwindMaps.MaxMappings}", c["process"]);
        var rules = new[] { (int)CfaRule.Invalid, (int)CfaRule.Rsp, (int)CfaRule.Rbp, (int)CfaRule.Plt11, (int)CfaRule.Plt10, (int)CfaRule.Signal, (int)CfaRule.End, (int)CfaRule.RbpDeref, (int)RbpRule.CfaOffset };
        Assert.Equal(string.Join(' ', rules), c["rules"]);
        Directory.Delete(dir, recursive: true);
    }

    private static string Offset(string field) => Marshal.OffsetOf<BpfSample>(field).ToString();
}
