using System.Text;
using System.Text.RegularExpressions;
using Parca.Storage;

namespace Parca.Query.Selectors;

/// <summary>
/// Parser of Parca's selector language: <c>profile_type{label="v", l2=~"re", l3!="x", l4!~"y"}</c> or
/// <c>{__name__="profile_type", ...}</c>. Identifiers follow Parca's UI grammar (<c>[a-zA-Z_:][a-zA-Z0-9_:.]*</c> for
/// the profile type, <c>[a-zA-Z_][a-zA-Z0-9_]*</c> for label names); values are double- or single-quoted strings
/// with backslash escapes. Errors name the 1-based position of the mistake.
/// </summary>
internal ref struct SelectorParser
{
    private readonly string _q;
    private int _pos;

    private SelectorParser(string q)
    {
        _q = q;
        _pos = 0;
    }

    public static Selector Parse(string query)
    {
        var p = new SelectorParser(query ?? "");
        return p.ParseSelector();
    }

    public static ProfileType ParseProfileType(string text, int offset) => ParseType(text, text, offset);

    private Selector ParseSelector()
    {
        SkipSpace();
        ProfileType? type = null;
        var typeStart = _pos;
        if (_pos < _q.Length && IsMetricStart(_q[_pos]))
        {
            while (_pos < _q.Length && IsMetricChar(_q[_pos]))
            {
                _pos++;
            }

            type = ParseType(_q, _q[typeStart.._pos], typeStart);
        }

        SkipSpace();
        var matchers = new List<Matcher>();
        if (_pos < _q.Length)
        {
            if (_q[_pos] != '{')
            {
                Fail(type is null ? "expected a profile type or '{'" : $"unexpected character '{_q[_pos]}', expected '{{'");
            }

            _pos++;
            ParseMatchers(matchers, ref type);
        }

        SkipSpace();
        if (_pos < _q.Length)
        {
            Fail($"unexpected '{_q[_pos]}' after the closing '}}'");
        }

        if (type is null)
        {
            _pos = 0;
            Fail(_q.Length == 0 ? "empty query: expected a profile type" : "no profile type: give it before '{' or as __name__=\"...\"");
        }

        return new Selector(type!, matchers);
    }

    private void ParseMatchers(List<Matcher> matchers, ref ProfileType? type)
    {
        while (true)
        {
            SkipSpace();
            if (_pos >= _q.Length)
            {
                Fail("unterminated selector: expected a label name or '}'");
            }

            if (_q[_pos] == '}')
            {
                _pos++;
                return;
            }

            var nameStart = _pos;
            if (!IsLabelStart(_q[_pos]))
            {
                Fail($"unexpected character '{_q[_pos]}', expected a label name");
            }

            while (_pos < _q.Length && IsLabelChar(_q[_pos]))
            {
                _pos++;
            }

            var name = _q[nameStart.._pos];
            SkipSpace();
            var opStart = _pos;
            var op = ParseOp();
            SkipSpace();
            var valueStart = _pos;
            var value = ParseString();
            if (name == "__name__")
            {
                if (op != MatchOp.Equal)
                {
                    _pos = opStart;
                    Fail("__name__ only supports '='");
                }

                if (type is not null)
                {
                    _pos = nameStart;
                    Fail("profile type given twice (before '{' and as __name__)");
                }

                type = ParseType(_q, value, valueStart + 1);
            }
            else
            {
                try
                {
                    matchers.Add(new Matcher(name, op, value));
                }
                catch (RegexParseException e)
                {
                    _pos = valueStart;
                    Fail($"invalid regular expression for label '{name}': {e.Message}");
                }
                catch (NotSupportedException e)
                {
                    // Backreferences, lookarounds and the like: they need a backtracking engine, which is not used.
                    _pos = valueStart;
                    Fail($"unsupported regular expression for label '{name}': {e.Message}");
                }
            }

            SkipSpace();
            if (_pos >= _q.Length)
            {
                Fail("unterminated selector: expected ',' or '}'");
            }

            if (_q[_pos] == ',')
            {
                _pos++;
            }
            else if (_q[_pos] != '}')
            {
                Fail($"unexpected character '{_q[_pos]}', expected ',' or '}}'");
            }
        }
    }

    private MatchOp ParseOp()
    {
        if (_pos + 1 < _q.Length)
        {
            var two = _q.AsSpan(_pos, 2);
            if (two is "!=")
            {
                _pos += 2;
                return MatchOp.NotEqual;
            }

            if (two is "=~")
            {
                _pos += 2;
                return MatchOp.Regex;
            }

            if (two is "!~")
            {
                _pos += 2;
                return MatchOp.NotRegex;
            }
        }

        if (_pos < _q.Length && _q[_pos] == '=')
        {
            _pos++;
            return MatchOp.Equal;
        }

        Fail(_pos < _q.Length ? $"unexpected character '{_q[_pos]}', expected one of = != =~ !~" : "expected one of = != =~ !~");
        return default;
    }

    private string ParseString()
    {
        if (_pos >= _q.Length || (_q[_pos] != '"' && _q[_pos] != '\''))
        {
            Fail(_pos < _q.Length ? $"unexpected character '{_q[_pos]}', expected a quoted value" : "expected a quoted value");
        }

        var quote = _q[_pos];
        var start = _pos;
        _pos++;
        var sb = new StringBuilder();
        while (_pos < _q.Length && _q[_pos] != quote)
        {
            var c = _q[_pos];
            if (c == '\\')
            {
                if (_pos + 1 >= _q.Length)
                {
                    break;
                }

                var e = _q[_pos + 1];
                sb.Append(e switch
                {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    _ => e,
                });
                _pos += 2;
                continue;
            }

            sb.Append(c);
            _pos++;
        }

        if (_pos >= _q.Length)
        {
            _pos = start;
            Fail("unterminated string");
        }

        _pos++;
        return sb.ToString();
    }

    private static ProfileType ParseType(string query, string text, int offset)
    {
        var parts = text.Split(':');
        if (parts.Length is not (5 or 6))
        {
            throw new SelectorParseException(query, offset,
                $"profile type '{text}' must have 5 or 6 parts name:sample_type:sample_unit:period_type:period_unit[:delta], got {parts.Length}");
        }

        var at = offset;
        for (var i = 0; i < parts.Length; i++)
        {
            // Period type and unit may be empty (profiles without period_type); the rest may not.
            if (parts[i].Length == 0 && i is not (3 or 4))
            {
                throw new SelectorParseException(query, at, $"profile type part {i + 1} is empty");
            }

            if (i == 5 && parts[i] != "delta")
            {
                throw new SelectorParseException(query, at, $"the sixth part of a profile type must be 'delta', got '{parts[i]}'");
            }

            at += parts[i].Length + 1;
        }

        return new ProfileType(parts[0], parts[1], parts[2], parts[3], parts[4], parts.Length == 6);
    }

    private void SkipSpace()
    {
        while (_pos < _q.Length && char.IsWhiteSpace(_q[_pos]))
        {
            _pos++;
        }
    }

    private readonly void Fail(string problem) => throw new SelectorParseException(_q, Math.Min(_pos, _q.Length), problem);

    private static bool IsMetricStart(char c) => char.IsAsciiLetter(c) || c is '_' or ':';

    private static bool IsMetricChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':' or '.' or '-';

    private static bool IsLabelStart(char c) => char.IsAsciiLetter(c) || c == '_';

    private static bool IsLabelChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.';
}
