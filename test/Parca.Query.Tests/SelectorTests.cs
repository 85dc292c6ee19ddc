using Parca.Query.Selectors;

namespace Parca.Query.Tests;

public sealed class SelectorTests
{
    [Fact]
    public void Parses_profile_type_with_matchers()
    {
        var s = Selector.Parse("process_cpu:samples:count:cpu:nanoseconds:delta{job=\"parca\", instance!=\"a\", pod=~\"web-.*\", ns!~'kube'}");
        Assert.Equal("process_cpu", s.Type.Name);
        Assert.Equal("samples", s.Type.SampleType);
        Assert.Equal("count", s.Type.SampleUnit);
        Assert.Equal("cpu", s.Type.PeriodType);
        Assert.Equal("nanoseconds", s.Type.PeriodUnit);
        Assert.True(s.Type.Delta);
        Assert.Equal(
            [("job", MatchOp.Equal, "parca"), ("instance", MatchOp.NotEqual, "a"), ("pod", MatchOp.Regex, "web-.*"), ("ns", MatchOp.NotRegex, "kube")],
            s.Matchers.Select(m => (m.Name, m.Op, m.Value)).ToArray());
    }

    [Fact]
    public void Parses_name_matcher_form_and_bare_type()
    {
        var s = Selector.Parse("{__name__=\"memory:inuse_space:bytes:space:bytes\", job=\"x\"}");
        Assert.False(s.Type.Delta);
        Assert.Equal("inuse_space", s.Type.SampleType);
        Assert.Single(s.Matchers);
        Assert.Empty(Selector.Parse("memory:alloc_objects:count:space:bytes").Matchers);
        Assert.Empty(Selector.Parse("memory:alloc_objects:count:space:bytes{}").Matchers);
    }

    [Fact]
    public void Label_semantics_follow_parca_with_prometheus_anchoring()
    {
        // Regexes are anchored as Prometheus does (Parca's FrostDB leaves them unanchored): "parc" alone would not match.
        Assert.False(Selector.Parse("a:b:c:d:e{pod=~\"parc\"}").Matches(Storage.LabelSet.From(("pod", "parca-0"))));
        var s = Selector.Parse("a:b:c:d:e{job=\"\", env!=\"\", pod=~\"parc.*\"}");
        Assert.True(s.Matches(Storage.LabelSet.From(("env", "prod"), ("pod", "parca-0"))));
        Assert.False(s.Matches(Storage.LabelSet.From(("env", "prod"), ("pod", "parca-0"), ("job", "x"))));
        Assert.False(s.Matches(Storage.LabelSet.From(("pod", "parca-0"))));
    }

    [Theory]
    [InlineData("a:b:c:d:e{job=\"x\" env=\"y\"}", 19, "expected ',' or '}'")]
    [InlineData("a:b:c:d:e{job==\"x\"}", 15, "expected a quoted value")]
    [InlineData("a:b:c:d:e{9job=\"x\"}", 11, "expected a label name")]
    [InlineData("a:b:c:d:e{job=\"x}", 15, "unterminated string")]
    [InlineData("a:b:c:d{job=\"x\"}", 1, "must have 5 or 6 parts")]
    [InlineData("a:b:c:d:e:cumulative", 11, "must be 'delta'")]
    [InlineData("a:b:c:d:e{job=\"x\"", 18, "unterminated selector")]
    [InlineData("a:b:c:d:e{job=~\"(\"}", 16, "invalid regular expression")]
    [InlineData("{job=\"x\"}", 1, "no profile type")]
    [InlineData("", 1, "empty query")]
    [InlineData("a:b:c:d:e{job<\"x\"}", 14, "expected one of = != =~ !~")]
    public void Errors_point_at_the_mistake(string query, int position, string problem)
    {
        var e = Assert.Throws<SelectorParseException>(() => Selector.Parse(query));
        Assert.Equal(position, e.Position + 1);
        Assert.Contains(problem, e.Message);
    }
}
