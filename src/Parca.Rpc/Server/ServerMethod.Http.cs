using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Parca.Rpc.Wire;

namespace Parca.Rpc.Server;

/// <summary>Connect unary and REST/JSON: whole-message HTTP exchanges onto the same unary handler.</summary>
internal sealed partial class ServerMethod<TRequest, TResponse>
{
    private static readonly JsonParser s_strictJson = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));
    private static readonly JsonParser s_lenientJson = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonFormatter s_connectJson = new(JsonFormatter.Settings.Default);
    private static readonly JsonFormatter s_restJson = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public override async Task HandleConnectAsync(HttpContext http, bool json, RpcServerOptions options, ILogger logger)
    {
        using var deadline = ConnectDeadline(http, out var deadlineAt);
        var token = deadline?.Token ?? http.RequestAborted;
        try
        {
            if (Type != MethodType.Unary)
            {
                throw new RpcException(StatusCode.Unimplemented, $"{Path} is {Type}; Connect is served for unary methods only");
            }

            var body = await ReadBodyAsync(http, options.MaxMessageSize, token).ConfigureAwait(false);
            var encoding = http.Request.Headers.ContentEncoding.ToString();
            if (encoding == "gzip")
            {
                body = Gzip.Decompress(body, options.MaxMessageSize);
            }
            else if (encoding is not ("" or "identity"))
            {
                throw new RpcException(StatusCode.Unimplemented, $"content-encoding '{encoding}' is not supported");
            }

            TRequest request;
            if (json)
            {
                try
                {
                    request = s_strictJson.Parse<TRequest>(body.Length == 0 ? "{}" : Encoding.UTF8.GetString(body));
                }
                catch (Exception ex) when (ex is InvalidJsonException or InvalidProtocolBufferException or FormatException)
                {
                    throw new RpcException(StatusCode.InvalidArgument, $"request is not a valid {RequestDescriptor.FullName} in JSON: {ex.Message}");
                }
            }
            else
            {
                request = Frames.Parse<TRequest>(body);
            }

            var context = new RpcCallContext(http, Path, RpcProtocol.Connect, deadlineAt, token);
            using var reply = await InvokeUnaryAsync(request, context).ConfigureAwait(false);
            http.Response.StatusCode = 200;
            if (json)
            {
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(s_connectJson.Format(reply.AsMessage()), token).ConfigureAwait(false);
            }
            else
            {
                http.Response.ContentType = "application/proto";
                var bytes = reply.Encoded?.Bytes ?? reply.Message!.ToByteArray();
                http.Response.ContentLength = bytes.Length;
                await http.Response.Body.WriteAsync(bytes, token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            var error = ToRpcException(ex, deadline, http, logger);
            if (error is null || http.Response.HasStarted)
            {
                return;
            }

            http.Response.StatusCode = StatusMapping.ToHttpStatus(error.Status);
            http.Response.ContentType = "application/json";
            var payload = JsonSerializer.Serialize(new ConnectError(StatusMapping.ToConnectCode(error.Status), error.Detail), ConnectJsonContext.Default.ConnectError);
            await http.Response.WriteAsync(payload, CancellationToken.None).ConfigureAwait(false);
        }
    }

    public override async Task HandleRestAsync(HttpContext http, RpcServerOptions options, ILogger logger)
    {
        var token = http.RequestAborted;
        try
        {
            string jsonText;
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsDelete(http.Request.Method))
            {
                jsonText = RestBinder.FromQuery(RequestDescriptor, http.Request.Query, http.Request.RouteValues);
            }
            else
            {
                var body = await ReadBodyAsync(http, options.MaxMessageSize, token).ConfigureAwait(false);
                jsonText = RestBinder.MergeRouteValues(RequestDescriptor, body.Length == 0 ? "{}" : Encoding.UTF8.GetString(body), http.Request.RouteValues);
            }

            TRequest request;
            try
            {
                request = s_lenientJson.Parse<TRequest>(jsonText);
            }
            catch (Exception ex) when (ex is InvalidJsonException or InvalidProtocolBufferException or FormatException)
            {
                throw new RpcException(StatusCode.InvalidArgument, $"request is not a valid {RequestDescriptor.FullName}: {ex.Message}");
            }

            var context = new RpcCallContext(http, Path, RpcProtocol.Rest, null, token);
            using var reply = await InvokeUnaryAsync(request, context).ConfigureAwait(false);
            http.Response.StatusCode = 200;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(s_restJson.Format(reply.AsMessage()), token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var error = ToRpcException(ex, null, http, logger);
            if (error is null || http.Response.HasStarted)
            {
                return;
            }

            http.Response.StatusCode = StatusMapping.ToHttpStatus(error.Status);
            http.Response.ContentType = "application/json";
            var payload = JsonSerializer.Serialize(new RestError((int)error.Status, error.Detail, []), ConnectJsonContext.Default.RestError);
            await http.Response.WriteAsync(payload, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private RpcException? ToRpcException(Exception ex, CancellationTokenSource? deadline, HttpContext http, ILogger logger)
    {
        switch (ex)
        {
            case RpcException rpc:
                RpcLog.CallFailed(logger, Path, rpc.Status, rpc.Detail);
                return rpc;
            case OperationCanceledException when deadline is { IsCancellationRequested: true } && !http.RequestAborted.IsCancellationRequested:
                return new RpcException(StatusCode.DeadlineExceeded, "deadline exceeded");
            case not null when http.RequestAborted.IsCancellationRequested:
                return null;
            default:
                RpcLog.HandlerFailed(logger, Path, ex!);
                return new RpcException(StatusCode.Unknown, "exception in handler: " + ex!.Message);
        }
    }

    private static CancellationTokenSource? ConnectDeadline(HttpContext http, out DateTime? deadlineAt)
    {
        deadlineAt = null;
        var header = http.Request.Headers["connect-timeout-ms"].ToString();
        if (header.Length == 0 || !long.TryParse(header, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
        {
            return null;
        }

        var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        cts.CancelAfter(TimeSpan.FromMilliseconds(ms));
        deadlineAt = DateTime.UtcNow.AddMilliseconds(ms);
        return cts;
    }

    private static async Task<ReadOnlySequence<byte>> ReadBodyAsync(HttpContext http, int maxSize, CancellationToken token)
    {
        if (http.Request.ContentLength > maxSize)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"request body of {http.Request.ContentLength} bytes exceeds the maximum of {maxSize} bytes");
        }

        var reader = http.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(token).ConfigureAwait(false);
            if (result.Buffer.Length > maxSize)
            {
                reader.AdvanceTo(result.Buffer.End);
                throw new RpcException(StatusCode.ResourceExhausted, $"request body exceeds the maximum of {maxSize} bytes");
            }

            if (result.IsCompleted)
            {
                var copy = new ReadOnlySequence<byte>(result.Buffer.ToArray());
                reader.AdvanceTo(result.Buffer.End);
                return copy;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
