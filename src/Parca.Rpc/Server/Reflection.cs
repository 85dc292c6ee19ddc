using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Reflection;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace Parca.Rpc.Server;

/// <summary>
/// Grpc.Reflection's v1 service, with what its answers leave out and this server always sent: the request echoed
/// (<c>original_request</c>, <c>valid_host</c>, which the protocol defines) and "not found" errors that name what was
/// not found (a reflection client shows that message to its user).
/// </summary>
internal sealed class ReflectionV1(IEnumerable<ServiceDescriptor> services) : ReflectionV1ServiceImpl(services)
{
    public override Task ServerReflectionInfo(IAsyncStreamReader<V1.ServerReflectionRequest> requestStream, IServerStreamWriter<V1.ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        var requests = new LastRequestReader<V1.ServerReflectionRequest>(requestStream);
        return base.ServerReflectionInfo(requests, new CompletingWriter<V1.ServerReflectionRequest, V1.ServerReflectionResponse>(responseStream, requests, Complete), context);
    }

    private static void Complete(V1.ServerReflectionRequest request, V1.ServerReflectionResponse response, HashSet<ByteString> sent)
    {
        response.OriginalRequest ??= request;
        if (response.FileDescriptorResponse is { } files)
        {
            ReflectionAnswers.KeepNew(files.FileDescriptorProto, sent);
        }

        if (response.ValidHost.Length == 0)
        {
            response.ValidHost = request.Host;
        }

        if (response.ErrorResponse is { ErrorCode: (int)StatusCode.NotFound } error)
        {
            error.ErrorMessage = ReflectionAnswers.NotFound(request.MessageRequestCase.ToString(), request.FileByFilename, request.FileContainingSymbol,
                request.FileContainingExtension?.ContainingType, request.FileContainingExtension?.ExtensionNumber ?? 0, request.AllExtensionNumbersOfType) ?? error.ErrorMessage;
        }
    }
}

/// <summary>The same for grpc.reflection.v1alpha (older clients, grpcurl's fallback).</summary>
internal sealed class ReflectionV1Alpha(IEnumerable<ServiceDescriptor> services) : ReflectionServiceImpl(services)
{
    public override Task ServerReflectionInfo(IAsyncStreamReader<V1Alpha.ServerReflectionRequest> requestStream, IServerStreamWriter<V1Alpha.ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        var requests = new LastRequestReader<V1Alpha.ServerReflectionRequest>(requestStream);
        return base.ServerReflectionInfo(requests, new CompletingWriter<V1Alpha.ServerReflectionRequest, V1Alpha.ServerReflectionResponse>(responseStream, requests, Complete), context);
    }

    private static void Complete(V1Alpha.ServerReflectionRequest request, V1Alpha.ServerReflectionResponse response, HashSet<ByteString> sent)
    {
        response.OriginalRequest ??= request;
        if (response.FileDescriptorResponse is { } files)
        {
            ReflectionAnswers.KeepNew(files.FileDescriptorProto, sent);
        }

        if (response.ValidHost.Length == 0)
        {
            response.ValidHost = request.Host;
        }

        if (response.ErrorResponse is { ErrorCode: (int)StatusCode.NotFound } error)
        {
            error.ErrorMessage = ReflectionAnswers.NotFound(request.MessageRequestCase.ToString(), request.FileByFilename, request.FileContainingSymbol,
                request.FileContainingExtension?.ContainingType, request.FileContainingExtension?.ExtensionNumber ?? 0, request.AllExtensionNumbersOfType) ?? error.ErrorMessage;
        }
    }
}

/// <summary>Shared by both versions.</summary>
internal static class ReflectionAnswers
{
    /// <summary>A "not found" message naming what was asked for (the oneof case names are the same in v1 and v1alpha).</summary>
    public static string? NotFound(string requestCase, string file, string symbol, string? extendedType, int extensionNumber, string type) => requestCase switch
    {
        "FileByFilename" => $"file not found: {file}",
        "FileContainingSymbol" => $"symbol not found: {symbol}",
        "FileContainingExtension" => $"extension not found: {extendedType} {extensionNumber}",
        "AllExtensionNumbersOfType" => $"type not found: {type}",
        _ => null,
    };

    /// <summary>
    /// The requested file (first) always, its dependencies once per stream: a client keeps what it received, and
    /// query.proto alone pulls in five files. The library hands out each file's one SerializedData instance.
    /// </summary>
    public static void KeepNew(RepeatedField<ByteString> files, HashSet<ByteString> sent)
    {
        for (var i = files.Count - 1; i >= 0; i--)
        {
            if (!sent.Add(files[i]) && i > 0)
            {
                files.RemoveAt(i);
            }
        }
    }
}

/// <summary>Remembers the request being answered (the service answers each request before reading the next).</summary>
internal sealed class LastRequestReader<T>(IAsyncStreamReader<T> inner) : IAsyncStreamReader<T>
    where T : class
{
    public T Current => inner.Current;

    public T? Last { get; private set; }

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        var more = await inner.MoveNext(cancellationToken).ConfigureAwait(false);
        Last = more ? inner.Current : null;
        return more;
    }
}

internal sealed class CompletingWriter<TRequest, TResponse>(IServerStreamWriter<TResponse> inner, LastRequestReader<TRequest> requests, Action<TRequest, TResponse, HashSet<ByteString>> complete) : IServerStreamWriter<TResponse>
    where TRequest : class
{
    private readonly HashSet<ByteString> _sent = new(ReferenceEqualityComparer.Instance);

    public WriteOptions? WriteOptions
    {
        get => inner.WriteOptions;
        set => inner.WriteOptions = value;
    }

    public Task WriteAsync(TResponse message) => WriteAsync(message, CancellationToken.None);

    public Task WriteAsync(TResponse message, CancellationToken cancellationToken)
    {
        if (requests.Last is { } request)
        {
            complete(request, message, _sent);
        }

        return inner.WriteAsync(message, cancellationToken);
    }
}
