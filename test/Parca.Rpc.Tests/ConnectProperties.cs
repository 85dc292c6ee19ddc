using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Google.Protobuf;
using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Rpc.Tests;

/// <summary>
/// Fuzz properties of the Connect adapter (JSON and binary unary calls on the shared port, parsed by our code before
/// a handler sees them): a valid request with bytes overwritten, or arbitrary text, gets either an answer or a
/// Connect error — an HTTP 4xx whose JSON body has a <c>code</c> and a <c>message</c> — and never a 5xx, which would
/// mean an exception escaped the adapter. The server keeps answering valid calls afterwards.
/// </summary>
[Collection(RpcServerCollection.Name)]
public sealed class ConnectProperties(RpcServerFixture server)
{
    private const string QueryPath = "/parca.query.v1alpha1.QueryService/Query";
    private const string ValuesPath = "/parca.query.v1alpha1.QueryService/Values";

    private static readonly HttpClient s_http = new();

    private static readonly byte[] s_queryJson = Encoding.UTF8.GetBytes(
        """{"mode":"MODE_MERGE","merge":{"query":"process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta{job=\"a\"}","start":"2026-12-07T00:00:00Z","end":"2026-12-07T01:00:00.5Z"},"reportType":"REPORT_TYPE_TOP"}""");

    private static readonly byte[] s_queryBinary = new QueryRequest
    {
        Mode = QueryRequest.Types.Mode.Merge,
        Merge = new MergeProfile { Query = "process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta{job=\"a\"}" },
        ReportType = QueryRequest.Types.ReportType.Top,
    }.ToByteArray();

    [Property(MaxTest = 300)]
    public void Mutated_json_requests_get_an_answer_or_a_connect_error(int[]? positions, byte[]? values) =>
        AnswerOrConnectError(QueryPath, "application/json", Mutate(s_queryJson, positions, values));

    [Property(MaxTest = 300)]
    public void Mutated_binary_requests_get_an_answer_or_a_connect_error(int[]? positions, byte[]? values) =>
        AnswerOrConnectError(QueryPath, "application/proto", Mutate(s_queryBinary, positions, values));

    [Property(MaxTest = 200)]
    public void Any_text_gets_an_answer_or_a_connect_error(string? text) =>
        AnswerOrConnectError(ValuesPath, "application/json", Encoding.UTF8.GetBytes(text ?? ""));

    [Fact]
    public async Task The_unmutated_requests_are_answered()
    {
        foreach (var (type, body) in new[] { ("application/json", s_queryJson), ("application/proto", s_queryBinary) })
        {
            using var response = await PostAsync(QueryPath, type, body);
            Assert.Equal(200, (int)response.StatusCode);
        }
    }

    private void AnswerOrConnectError(string path, string contentType, byte[] body)
    {
        using var response = PostAsync(path, contentType, body).GetAwaiter().GetResult();
        var status = (int)response.StatusCode;
        var text = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        Assert.True(status < 500, $"HTTP {status}: {text}");
        if (status != 200)
        {
            using var error = JsonDocument.Parse(text);
            Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("code").GetString()), text);
            Assert.True(error.RootElement.TryGetProperty("message", out _), text);
        }
    }

    private Task<HttpResponseMessage> PostAsync(string path, string contentType, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return s_http.PostAsync(server.Http + path, content);
    }

    private static byte[] Mutate(byte[] original, int[]? positions, byte[]? values)
    {
        var bytes = (byte[])original.Clone();
        positions ??= [];
        values ??= [];
        for (var i = 0; i < Math.Min(positions.Length, values.Length); i++)
        {
            bytes[(int)((uint)positions[i] % (uint)bytes.Length)] = values[i];
        }

        return bytes;
    }
}
