using Parca.Ingest.Otlp;

namespace Parca.Server.Tests.Otlp;

/// <summary>Attribute keys as label names: Prometheus' sanitizing, one '_' per code point, a '_' before a leading digit.</summary>
public sealed class OtlpLabelsTests
{
    [Theory]
    [InlineData("service.name", "service_name")]
    [InlineData("k8s.pod.name", "k8s_pod_name")]
    [InlineData("thread_id", "thread_id")]
    [InlineData("1st", "_1st")]
    [InlineData("grüße", "gr__e")]
    [InlineData("a😀b", "a_b")]
    [InlineData("go.opentelemetry.io/ebpf-profiler", "go_opentelemetry_io_ebpf_profiler")]
    [InlineData("", "")]
    public void Key_becomes_a_label_name(string key, string expected) => Assert.Equal(expected, OtlpLabels.Sanitize(key));
}
