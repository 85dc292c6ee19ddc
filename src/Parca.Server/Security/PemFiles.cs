using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Parca.Server.Security;

/// <summary>
/// A PEM certificate file (with its key file, or alone for a CA bundle), re-read when either file's modification
/// time or size changes. The check is two stat calls per handshake, small beside the handshake itself. A file that
/// fails to load (a renewal half written, a key that does not match) keeps the last good certificate and is reported
/// once per change, and tried again when the files change again.
/// </summary>
internal sealed class PemFiles(string path, string? keyPath)
{
    private readonly Lock _lock = new();
    private Loaded _loaded = Loaded.Empty;
    private (DateTime, long, DateTime, long) _failedStamp;

    /// <summary>What was loaded: the server's certificate context (with a key) or the bundle's certificates (CA).</summary>
    internal sealed record Loaded((DateTime, long, DateTime, long) Stamp, SslStreamCertificateContext? Context, X509Certificate2Collection Certificates)
    {
        public static readonly Loaded Empty = new(default, null, []);
    }

    public void LoadAtStart(string flags)
    {
        try
        {
            _loaded = Load(Stamp());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new InvalidOperationException($"{flags}: {Describe(e)}", e);
        }
    }

    /// <summary>The current certificate; <c>Failure</c> is set the first time a changed file could not be loaded.</summary>
    public (Loaded Current, string? Failure) Current()
    {
        (DateTime, long, DateTime, long) stamp;
        try
        {
            stamp = Stamp();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (Volatile.Read(ref _loaded), null); // a file being replaced: serve the last one
        }

        var loaded = Volatile.Read(ref _loaded);
        if (stamp == loaded.Stamp)
        {
            return (loaded, null);
        }

        lock (_lock)
        {
            if (stamp == _loaded.Stamp || stamp == _failedStamp)
            {
                return (_loaded, null);
            }

            try
            {
                Volatile.Write(ref _loaded, Load(stamp));
                return (_loaded, null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                _failedStamp = stamp;
                return (_loaded, Describe(e));
            }
        }
    }

    private Loaded Load((DateTime, long, DateTime, long) stamp)
    {
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(path);
        if (all.Count == 0)
        {
            throw new CryptographicException($"'{path}' holds no PEM certificate");
        }

        if (keyPath is null)
        {
            return new Loaded(stamp, null, all);
        }

        // The first certificate is the server's, the rest its intermediates (sent in the handshake).
        var leaf = X509Certificate2.CreateFromPemFile(path, keyPath);
        var intermediates = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
        {
            intermediates.Add(all[i]);
        }

        return new Loaded(stamp, SslStreamCertificateContext.Create(leaf, intermediates, offline: true), all);
    }

    private (DateTime, long, DateTime, long) Stamp()
    {
        var file = new FileInfo(path);
        var key = keyPath is null ? null : new FileInfo(keyPath);
        if (!file.Exists || key is { Exists: false })
        {
            throw new FileNotFoundException($"'{(file.Exists ? keyPath : path)}' does not exist");
        }

        return (file.LastWriteTimeUtc, file.Length, key?.LastWriteTimeUtc ?? default, key?.Length ?? 0);
    }

    private string Describe(Exception e) => e is FileNotFoundException ? e.Message : $"'{path}': {e.Message}";
}
