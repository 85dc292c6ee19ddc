using System.Text;

namespace Parca.Scrape;

/// <summary>
/// A URL as it may be shown in logs, traces and APIs: the password of the user info and the values of query
/// parameters whose names say they carry a credential are replaced by <c>&lt;secret&gt;</c> (Prometheus' word for it).
/// </summary>
internal static class UrlRedaction
{
    private const string Secret = "<secret>";
    private static readonly string[] s_secretWords = ["token", "secret", "password", "passwd", "pwd", "key", "auth", "credential", "signature", "sig"];

    public static string Redact(Uri url)
    {
        if (!url.IsAbsoluteUri)
        {
            return url.OriginalString;
        }

        var userInfo = url.UserInfo;
        var query = url.Query;
        if (userInfo.Length == 0 && query.Length == 0)
        {
            return url.OriginalString;
        }

        var builder = new UriBuilder(url);
        var changed = false;
        if (userInfo.Contains(':', StringComparison.Ordinal))
        {
            builder.Password = Secret;
            changed = true;
        }

        if (query.Length > 1)
        {
            var redacted = new StringBuilder();
            foreach (var pair in query[1..].Split('&'))
            {
                if (redacted.Length > 0)
                {
                    redacted.Append('&');
                }

                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var name = eq < 0 ? pair : pair[..eq];
                var secret = eq >= 0 && IsSecretName(Uri.UnescapeDataString(name));
                changed |= secret;
                redacted.Append(secret ? name + "=" + Secret : pair);
            }

            builder.Query = redacted.ToString();
        }

        return changed ? Unescape(builder.Uri) : url.OriginalString;
    }

    // UriBuilder escapes the placeholder's angle brackets; show it as written.
    private static string Unescape(Uri uri) =>
        uri.AbsoluteUri.Replace("%3Csecret%3E", Secret, StringComparison.Ordinal);

    private static bool IsSecretName(string name)
    {
        foreach (var word in s_secretWords)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
