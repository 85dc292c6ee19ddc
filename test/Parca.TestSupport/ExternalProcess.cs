using System.Diagnostics;
using System.Text.Json;

namespace Parca.TestSupport;

/// <summary>Runs the real peers: Node scripts in test/interop, curl, python3.</summary>
public static class ExternalProcess
{
    public static string InteropDir => Path.Combine(RepoPaths.Root, "test", "interop");

    /// <summary>Runs a Node script from test/interop (with the ESM resolve hook @parca/client needs) and returns stdout.</summary>
    public static Task<string> NodeAsync(string script, params string[] args) => NodeAsync(script, (IReadOnlyDictionary<string, string>?)null, args);

    /// <summary>As <see cref="NodeAsync(string, string[])"/>, with extra environment variables for node.</summary>
    public static async Task<string> NodeAsync(string script, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        if (!Directory.Exists(Path.Combine(InteropDir, "node_modules", "@grpc", "grpc-js")))
        {
            throw new InvalidOperationException("test/interop/node_modules is missing: run scripts/bootstrap.sh test (it runs npm ci there)");
        }

        return await RunAsync("node", ["--import", "./register.mjs", script, .. args], InteropDir, environment: environment);
    }

    public static async Task<JsonElement> NodeJsonAsync(string script, params string[] args) =>
        JsonDocument.Parse(await NodeAsync(script, args)).RootElement;

    public static async Task<string> RunAsync(string file, IEnumerable<string> args, string? workingDirectory = null, int expectExit = 0, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoPaths.Root,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 2 minutes; stderr: {await stderr}");
        }

        if (process.ExitCode != expectExit)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }
}
