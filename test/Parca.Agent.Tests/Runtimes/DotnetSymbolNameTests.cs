using System.Text;
using Parca.Symbols.Jit;

namespace Parca.Agent.Tests.Runtimes;

public sealed class DotnetSymbolNameTests
{
    [Theory]
    [InlineData("uint64 [Tracee] Tracee.Chain.Leaf::Burn(uint64)[OptimizedTier1]", "Tracee.Chain.Leaf::Burn(uint64)")]
    [InlineData("uint64 [Tracee] Tracee.Chain.Leaf::Burn(uint64)[OptimizedTier1OSR]", "Tracee.Chain.Leaf::Burn(uint64)")]
    [InlineData("uint64 [Tracee] Tracee.Chain.Middle`1[System.Int64]::Level2(uint64)[QuickJitted]", "Tracee.Chain.Middle`1[System.Int64]::Level2(uint64)")]
    [InlineData("void [System.Private.CoreLib] System.Threading.Thread::StartCallback()[PreJIT]", "System.Threading.Thread::StartCallback()")]
    [InlineData("valuetype System.ValueTuple`2<int32,int32> [App] App.X::Pair(class [System.Runtime]System.String)[Optimized]", "App.X::Pair(class [System.Runtime]System.String)")]
    [InlineData("object [Anonymously Hosted DynamicMethods Assembly] dynamicClass::lambda_method1(class System.Runtime.CompilerServices.Closure,object,object[])[Optimized]", "dynamicClass::lambda_method1(class System.Runtime.CompilerServices.Closure,object,object[])")]
    [InlineData("class [System.Runtime]System.String [App] App.X::Name()[QuickJitted]", "App.X::Name()")]
    [InlineData("stub<1> AllocateTemporaryEntryPoints<PRESTUB_METHOD>", "stub<1> AllocateTemporaryEntryPoints<PRESTUB_METHOD>")]
    [InlineData("[stub] UnboxingStub", "[stub] UnboxingStub")]
    public void Names_drop_return_type_assembly_and_tier(string perfMapName, string expected) =>
        Assert.Equal(expected, DotnetSymbolName.Normalize(perfMapName));

    [Fact]
    public void Tiers_stay_apart_when_asked() =>
        Assert.Equal("Tracee.Chain.Leaf::Burn(uint64)[QuickJitted]", DotnetSymbolName.Normalize("uint64 [Tracee] Tracee.Chain.Leaf::Burn(uint64)[QuickJitted]", keepTier: true));

    [Fact]
    public void Accumulator_reads_appended_lines_keeps_a_split_line_and_lets_a_later_entry_win()
    {
        var map = new PerfMapAccumulator(1 << 20, DotnetSymbolName.Normalize);
        map.Append("7f0000001000 20 void [A] N.T::M()[QuickJitted]\n7f00000020"u8);
        Assert.Equal(1, map.Publish().Count);
        map.Append("00 10 void [A] N.T::Tail()[QuickJitted]\n"u8);
        map.Append("0x7f0000001000 30 void [A] N.T::Reused()[OptimizedTier1]\nnot a line\n"u8);
        var table = map.Publish();
        Assert.Equal(2, table.Count);
        Assert.True(table.TryLookup(0x7f000000102f, out var reused, out _));
        Assert.Equal("N.T::Reused()", reused);
        Assert.True(table.TryLookup(0x7f0000002005, out var tail, out _));
        Assert.Equal("N.T::Tail()", tail);
        Assert.Equal(Encoding.ASCII.GetByteCount("7f0000001000 20 void [A] N.T::M()[QuickJitted]\n7f00000020") + Encoding.ASCII.GetByteCount("00 10 void [A] N.T::Tail()[QuickJitted]\n") + Encoding.ASCII.GetByteCount("0x7f0000001000 30 void [A] N.T::Reused()[OptimizedTier1]\nnot a line\n"), map.Offset);
    }

    [Fact]
    public void Accumulator_stops_at_its_byte_budget()
    {
        var map = new PerfMapAccumulator(40);
        map.Append("1000 10 first\n2000 10 second\n3000 10 third-is-past-the-budget\n"u8);
        Assert.True(map.Full);
        Assert.Equal(40, map.Offset);
        Assert.Equal(2, map.Publish().Count);
    }
}
