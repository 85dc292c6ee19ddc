using Parca.Agent.Runtimes.Java;

namespace Parca.Agent.Tests.Runtimes;

public sealed class HotSpotLineTableTests
{
    [Fact]
    public void Short_and_long_pairs_decode_to_bci_and_line()
    {
        // (0, 10): 0xFF, then the deltas zigzagged (0, 20); (4, 11): one byte, 4 << 3 | 1; (300, 200): 0xFF, deltas
        // 296 and 189 zigzagged to 592 and 378, each two UNSIGNED5 bytes (592 = 208 + 6 * 64, 378 = 250 + 2 * 64);
        // then the terminator (the byte after it is not read).
        byte[] table = [0xff, 0, 20, (4 << 3) | 1, 0xff, 208, 6, 250, 2, 0, 0x55];
        var pairs = HotSpotLineTable.Decode(table);
        Assert.Equal([(0, 10), (4, 11), (300, 200)], pairs);
    }

    [Fact]
    public void Line_of_a_bytecode_is_the_last_pair_at_or_before_it()
    {
        var method = new HotSpotMethod("p.C.m(long)", "C.java", 0x1000, 0x7f00_0000_8010, 400, [(0, 10), (4, 11), (300, 200)]);
        Assert.Equal(10, method.LineOf(0x8010 & 0x7fff));
        Assert.Equal(11, method.LineOf((0x8010 + 299) & 0x7fff));
        Assert.Equal(200, method.LineOf((0x8010 + 399) & 0x7fff));
        Assert.Equal(10, method.LineOf((0x8010 + 500) & 0x7fff)); // past the code: the method's first line
    }

    [Theory]
    [InlineData("(J)V", "(long)")]
    [InlineData("([Ljava/lang/String;)V", "(java.lang.String[])")]
    [InlineData("(DJ[[IZLp/Q;)J", "(double, long, int[][], boolean, p.Q)")]
    [InlineData("()V", "()")]
    public void Descriptors_become_java_parameter_lists(string descriptor, string expected) =>
        Assert.Equal(expected, HotSpotMethodReader.Parameters(descriptor));
}
