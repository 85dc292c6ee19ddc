using System.Collections.Frozen;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Parca.Protocol.Reflection.V1;

namespace Parca.Rpc.Server;

/// <summary>
/// gRPC server reflection (grpc.reflection.v1 and v1alpha ServerReflectionInfo): lists the registered services and
/// hands out the .proto files (<see cref="ParcaApi.Files"/>) that define a file name, service, method, message or
/// enum, so grpcurl and similar tools work without .proto files. As gRPC's reference servers do, a file response
/// carries the requested file and those of its transitive dependencies not yet sent on the same stream. Unknown
/// names and extension requests (the API defines no extensions) get an error response with NOT_FOUND in the
/// stream; the stream itself stays open.
/// </summary>
internal sealed class ReflectionService(IServiceProvider services) : IRpcService
{
    private static readonly Catalog s_catalog = new(ParcaApi.Files);

    public void Register(RpcServiceBuilder builder)
    {
        builder.MapDuplexStreaming(ParcaApi.Reflection.InfoV1, Info);
        builder.MapDuplexStreaming(ParcaApi.Reflection.InfoV1Alpha, Info);
    }

    private async ValueTask Info(IAsyncEnumerable<ServerReflectionRequest> requests, IRpcStreamWriter<ServerReflectionResponse> responses, RpcCallContext context)
    {
        var sent = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var request in requests.WithCancellation(context.CancellationToken))
        {
            await responses.WriteAsync(Answer(request, sent), context.CancellationToken);
        }
    }

    private ServerReflectionResponse Answer(ServerReflectionRequest request, HashSet<string> sent)
    {
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                foreach (var name in services.GetRequiredService<RpcServiceRegistry>().Services.Order(StringComparer.Ordinal))
                {
                    list.Service.Add(new ServiceResponse { Name = name });
                }

                response.ListServicesResponse = list;
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                SetFile(response, s_catalog.ByFileName.GetValueOrDefault(request.FileByFilename), $"file not found: {request.FileByFilename}", sent);
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                SetFile(response, s_catalog.BySymbol.GetValueOrDefault(request.FileContainingSymbol), $"symbol not found: {request.FileContainingSymbol}", sent);
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                var extension = request.FileContainingExtension;
                response.ErrorResponse = NotFound($"extension not found: {extension.ContainingType} {extension.ExtensionNumber}");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                var type = request.AllExtensionNumbersOfType;
                if (s_catalog.Messages.Contains(type))
                {
                    response.AllExtensionNumbersResponse = new ExtensionNumberResponse { BaseTypeName = type };
                }
                else
                {
                    response.ErrorResponse = NotFound($"type not found: {type}");
                }

                break;
            default:
                response.ErrorResponse = new ErrorResponse { ErrorCode = (int)StatusCode.InvalidArgument, ErrorMessage = "empty or unknown reflection request" };
                break;
        }

        return response;
    }

    private static void SetFile(ServerReflectionResponse response, FileDescriptor? file, string notFound, HashSet<string> sent)
    {
        if (file is null)
        {
            response.ErrorResponse = NotFound(notFound);
            return;
        }

        var files = new FileDescriptorResponse();
        var queue = new Queue<FileDescriptor>();
        queue.Enqueue(file);
        while (queue.TryDequeue(out var next))
        {
            // The requested file always, its dependencies once per stream.
            if (files.FileDescriptorProto.Count == 0 || sent.Add(next.Name))
            {
                sent.Add(next.Name);
                files.FileDescriptorProto.Add(next.SerializedData);
                foreach (var dependency in next.Dependencies)
                {
                    queue.Enqueue(dependency);
                }
            }
        }

        response.FileDescriptorResponse = files;
    }

    private static ErrorResponse NotFound(string message) => new() { ErrorCode = (int)StatusCode.NotFound, ErrorMessage = message };

    /// <summary>Every file (dependencies included) by name, and the file defining each fully qualified symbol.</summary>
    private sealed class Catalog
    {
        public Catalog(IEnumerable<FileDescriptor> roots)
        {
            var byFile = new Dictionary<string, FileDescriptor>(StringComparer.Ordinal);
            var bySymbol = new Dictionary<string, FileDescriptor>(StringComparer.Ordinal);
            var messages = new HashSet<string>(StringComparer.Ordinal);
            var queue = new Queue<FileDescriptor>(roots);
            while (queue.TryDequeue(out var file))
            {
                if (!byFile.TryAdd(file.Name, file))
                {
                    continue;
                }

                foreach (var service in file.Services)
                {
                    bySymbol[service.FullName] = file;
                    foreach (var method in service.Methods)
                    {
                        bySymbol[method.FullName] = file;
                    }
                }

                foreach (var message in file.MessageTypes)
                {
                    AddMessage(message, file, bySymbol, messages);
                }

                foreach (var e in file.EnumTypes)
                {
                    bySymbol[e.FullName] = file;
                }

                foreach (var dependency in file.Dependencies)
                {
                    queue.Enqueue(dependency);
                }
            }

            ByFileName = byFile.ToFrozenDictionary(StringComparer.Ordinal);
            BySymbol = bySymbol.ToFrozenDictionary(StringComparer.Ordinal);
            Messages = messages.ToFrozenSet(StringComparer.Ordinal);
        }

        public FrozenDictionary<string, FileDescriptor> ByFileName { get; }

        public FrozenDictionary<string, FileDescriptor> BySymbol { get; }

        public FrozenSet<string> Messages { get; }

        private static void AddMessage(MessageDescriptor message, FileDescriptor file, Dictionary<string, FileDescriptor> bySymbol, HashSet<string> messages)
        {
            bySymbol[message.FullName] = file;
            messages.Add(message.FullName);
            foreach (var nested in message.NestedTypes)
            {
                AddMessage(nested, file, bySymbol, messages);
            }

            foreach (var e in message.EnumTypes)
            {
                bySymbol[e.FullName] = file;
            }
        }
    }
}
