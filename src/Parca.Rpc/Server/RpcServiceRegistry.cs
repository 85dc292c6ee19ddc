using System.Collections.Frozen;

namespace Parca.Rpc.Server;

/// <summary>All methods, keyed by path; built once from every <see cref="IRpcService"/> and registration delegate.</summary>
internal sealed class RpcServiceRegistry
{
    private readonly FrozenDictionary<string, ServerMethod> _byPath;
    private readonly FrozenDictionary<string, ServerMethod>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly FrozenSet<string> _services;

    public RpcServiceRegistry(IEnumerable<IRpcService> services, IEnumerable<RpcRegistration> registrations)
    {
        var builder = new RpcServiceBuilder();
        foreach (var service in services)
        {
            service.Register(builder);
        }

        foreach (var registration in registrations)
        {
            registration.Register(builder);
        }

        var byPath = new Dictionary<string, ServerMethod>(StringComparer.Ordinal);
        foreach (var method in builder.Methods)
        {
            if (!byPath.TryAdd(method.Path, method))
            {
                throw new InvalidOperationException($"two handlers registered for {method.Path}");
            }
        }

        Methods = builder.Methods;
        _byPath = byPath.ToFrozenDictionary(StringComparer.Ordinal);
        _lookup = _byPath.GetAlternateLookup<ReadOnlySpan<char>>();
        _services = builder.Methods.Select(m => m.Service).ToFrozenSet(StringComparer.Ordinal);
    }

    public IReadOnlyList<ServerMethod> Methods { get; }

    public bool TryGet(ReadOnlySpan<char> path, out ServerMethod method) => _lookup.TryGetValue(path, out method!);

    /// <summary>The full names of the registered services (e.g. "parca.query.v1alpha1.QueryService").</summary>
    public IEnumerable<string> Services => _services;

    public bool HasService(ReadOnlySpan<char> service) => _services.GetAlternateLookup<ReadOnlySpan<char>>().Contains(service);
}

/// <summary>A registration delegate added with <c>services.AddRpcService(builder => ...)</c>.</summary>
internal sealed class RpcRegistration(Action<RpcServiceBuilder> register)
{
    public void Register(RpcServiceBuilder builder) => register(builder);
}
