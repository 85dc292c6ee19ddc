using System.Text;
using Parca.Storage.Internal;

namespace Parca.Storage.Tests;

public sealed class ContentHashTests
{
    [Fact]
    public void String_and_its_utf8_bytes_hash_alike_and_lengths_and_tails_matter()
    {
        var seen = new HashSet<Hash128>();
        var text = "github.com/example/ü/日本/pkg.(*T).Method";
        for (var n = 0; n <= text.Length; n++)
        {
            var s = text[..n];
            if (char.IsHighSurrogate(s.LastOrDefault()))
            {
                continue;
            }

            var h = ContentHash.Of(s);
            Assert.Equal(ContentHash.Of(Encoding.UTF8.GetBytes(s)), h);
            Assert.True(seen.Add(h), $"prefix of length {n} collides");
        }

        // Same bytes but one trailing zero byte: the length is part of the hash.
        Assert.NotEqual(ContentHash.Of("abcdefgh"u8), ContentHash.Of("abcdefgh\0"u8));
        Assert.NotEqual(ContentHash.Of("abc"u8), ContentHash.Of("abc\0"u8));
    }

    [Fact]
    public void Combining_depends_on_order()
    {
        var a = ContentHash.Of("a"u8);
        var b = ContentHash.Of("b"u8);
        var start = ContentHash.Combine(1, 2);
        Assert.NotEqual(ContentHash.Combine(ContentHash.Combine(start, a), b), ContentHash.Combine(ContentHash.Combine(start, b), a));
    }
}
