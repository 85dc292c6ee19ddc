using Parca.Agent.Runtimes.Java;
using Parca.Symbols.Jit;

namespace Parca.Agent.Tests.Runtimes;

public sealed class JavaSymbolNameTests
{
    [Theory]
    [InlineData("long tracee.chain.Leaf.burn(long)", "tracee.chain.Leaf.burn(long)")]
    [InlineData("void java.lang.Thread.run()", "java.lang.Thread.run()")]
    [InlineData("java.lang.String[] a.B.split(java.lang.String, int)", "a.B.split(java.lang.String, int)")]
    [InlineData("void tracee.chain.Chain.lambda$main$0(long[], int, double)", "tracee.chain.Chain.lambda$main$0(long[], int, double)")]
    [InlineData("Interpreter", "Interpreter")]
    [InlineData("StubRoutines (1)", "StubRoutines (1)")]
    [InlineData("I2C/C2I adapters(0xbbbbbbbbbbbbbbbb)", "I2C/C2I adapters(0xbbbbbbbbbbbbbbbb)")]
    [InlineData("vtable chunks", "vtable chunks")]
    public void Names_drop_the_return_type_and_leave_blobs_alone(string perfMapName, string expected) =>
        Assert.Equal(expected, JavaSymbolName.Normalize(perfMapName));

    [Fact]
    public void Attach_reply_zero_is_the_output() =>
        Assert.Equal("", HotSpotAttach.ParseReply("0\n"));

    [Theory]
    [InlineData("-1\n", "the JVM answered -1")]
    [InlineData("0\njava.lang.IllegalArgumentException: Unknown diagnostic command\n", "Unknown diagnostic command")]
    [InlineData("", "not an attach reply")]
    public void Attach_reply_failures_say_why(string reply, string reason)
    {
        var e = Assert.Throws<AttachException>(() => HotSpotAttach.ParseReply(reply));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }
}
