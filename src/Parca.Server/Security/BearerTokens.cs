using System.Security.Cryptography;
using System.Text;

namespace Parca.Server.Security;

/// <summary>
/// The tokens of one token file (one per line, blank lines and <c>#</c> comments ignored, so a rotation can list the
/// old and the new token for a while). The file is read again when its modification time changes, checked at most
/// once a second, so a rotated token applies without a restart. A file that cannot be read keeps the last tokens.
/// </summary>
internal sealed class BearerTokens(string path, TimeProvider time)
{
    private readonly Lock _lock = new();
    private byte[][] _tokens = Read(path);
    private DateTime _modified = File.GetLastWriteTimeUtc(path);
    private long _checkedAt = time.GetTimestamp();

    /// <summary>True when <paramref name="token"/> is one of the file's tokens (constant time per token).</summary>
    public bool Accepts(ReadOnlySpan<char> token)
    {
        Refresh();
        Span<byte> utf8 = stackalloc byte[256];
        var length = Encoding.UTF8.GetMaxByteCount(token.Length) <= utf8.Length
            ? Encoding.UTF8.GetBytes(token, utf8)
            : -1;
        var given = length >= 0 ? utf8[..length] : Encoding.UTF8.GetBytes(token.ToString());
        var accepted = false;
        foreach (var t in Volatile.Read(ref _tokens))
        {
            accepted |= CryptographicOperations.FixedTimeEquals(t, given);
        }

        return accepted;
    }

    private void Refresh()
    {
        if (time.GetElapsedTime(Volatile.Read(ref _checkedAt)) < TimeSpan.FromSeconds(1))
        {
            return;
        }

        lock (_lock)
        {
            Volatile.Write(ref _checkedAt, time.GetTimestamp());
            try
            {
                var modified = File.GetLastWriteTimeUtc(path);
                if (modified != _modified)
                {
                    Volatile.Write(ref _tokens, Read(path));
                    _modified = modified;
                }
            }
            catch (IOException)
            {
                // Keep the last tokens: a file being replaced must not lock everyone out.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static byte[][] Read(string path)
    {
        var tokens = new List<byte[]>();
        foreach (var line in File.ReadAllLines(path))
        {
            var token = line.Trim();
            if (token.Length > 0 && !token.StartsWith('#'))
            {
                tokens.Add(Encoding.UTF8.GetBytes(token));
            }
        }

        return [.. tokens];
    }
}
