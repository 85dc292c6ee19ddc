using Parca.Server.SelfProfiling;

namespace Parca.Scrape.Tests;

public sealed class MethodMapTests
{
    [Fact]
    public void Addresses_resolve_to_the_method_whose_code_holds_them()
    {
        var map = new MethodMap();
        map.Add(0x1000, 0x100, "A.First(int32)", moduleId: 7);
        map.Add(0x1100, 0x10, "A.Second()");
        map.AddModule(7, "/usr/share/dotnet/System.Private.CoreLib.dll", "");

        Assert.True(map.TryResolve(0x1000, out var name, out var module));
        Assert.Equal(("A.First(int32)", "System.Private.CoreLib"), (name, module));
        Assert.True(map.TryResolve(0x10ff, out name, out _));
        Assert.Equal("A.First(int32)", name);
        Assert.True(map.TryResolve(0x1105, out name, out module));
        Assert.Equal(("A.Second()", ""), (name, module));
        Assert.False(map.TryResolve(0x0fff, out _, out _)); // below every method
        Assert.False(map.TryResolve(0x1110, out _, out _)); // past the last method's code
        Assert.True(map.IsNew(0x1110));

        map.Remove(0x1100); // unloaded (e.g. a collected dynamic method)
        Assert.False(map.TryResolve(0x1105, out _, out _));
        map.MarkUnnamed(0x1105);
        Assert.False(map.IsNew(0x1105)); // a rundown did not name it: no reason to take another for it
    }

    [Fact]
    public void A_precompiled_method_known_by_its_entry_point_runs_up_to_the_next_method_and_a_sized_entry_replaces_it()
    {
        var map = new MethodMap();
        map.Add(0x10_0000, 0, "R2R.Entry()");
        map.Add(0x10_0800, 0x40, "R2R.Next()");

        Assert.True(map.TryResolve(0x10_07ff, out var name, out _));
        Assert.Equal("R2R.Entry()", name);
        Assert.False(map.TryResolve(0x10_0000 + (256 * 1024) + 0x1000, out _, out _)); // beyond the next method

        map.Add(0x10_0000, 0x20, "R2R.Entry()"); // the rundown's sized record
        Assert.False(map.TryResolve(0x10_0100, out _, out _));
        map.Add(0x10_0000, 0, "R2R.Entry()"); // a later entry-point event does not undo the size
        Assert.False(map.TryResolve(0x10_0100, out _, out _));
    }

    [Theory]
    [InlineData("System.Threading.WaitHandle", "WaitOneNoCheck", "bool  (int32,bool,class System.Object)", "System.Threading.WaitHandle.WaitOneNoCheck(int32,bool,class System.Object)")]
    [InlineData("A.B", "M", "instance void  ()", "A.B.M()")]
    [InlineData("A.B", "M", "", "A.B.M")]
    public void Names_have_the_type_the_method_and_its_parameters(string type, string method, string signature, string expected) =>
        Assert.Equal(expected, MethodMap.FullName(type, method, signature));
}
