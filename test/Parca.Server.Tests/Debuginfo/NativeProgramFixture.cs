namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// The set-up the debuginfo end-to-end classes share: a temporary directory, the test program built into it
/// (<see cref="NativeProgram"/>), and unless a class starts its own servers, a real server with its data there.
/// </summary>
public abstract class NativeProgramFixture(string prefix, bool startServer = true) : IAsyncLifetime
{
    private DebuginfoTestServer? _server;

    protected string Dir { get; } = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));

    private protected NativeProgram Program { get; private set; } = null!;

    private protected DebuginfoTestServer Server => _server ?? throw new InvalidOperationException("this class starts its own servers");

    public virtual async Task InitializeAsync()
    {
        Program = NativeProgram.Build(Path.Combine(Dir, "program"));
        if (startServer)
        {
            _server = await StartServerAsync(Path.Combine(Dir, "server"));
        }
    }

    /// <summary>The server of the class (override to give it upstreams).</summary>
    private protected virtual Task<DebuginfoTestServer> StartServerAsync(string directory) => DebuginfoTestServer.StartAsync(directory);

    public virtual async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(Dir, recursive: true);
    }
}
