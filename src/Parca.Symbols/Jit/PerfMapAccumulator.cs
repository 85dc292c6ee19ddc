using System.Globalization;
using System.Text;
using Parca.Symbols.Elf;

namespace Parca.Symbols.Jit;

/// <summary>
/// A perf map read incrementally: runtimes only append to /tmp/perf-PID.map, so each window reads the bytes added
/// since the last one instead of the whole file. A line split across two reads is kept until its end arrives; a later
/// entry at an address replaces the earlier one (the runtime reused freed code memory). Memory is bounded by
/// <see cref="MaxBytes"/>: past it nothing more is read and <see cref="Full"/> says so.
/// </summary>
public sealed class PerfMapAccumulator
{
    private readonly Dictionary<ulong, (ulong Size, string Name, string Tag)> _entries = [];
    private readonly Func<string, string> _rename;
    /// <summary>Longest line kept across reads; a longer one is not a perf map line and is skipped up to its end.</summary>
    private const int MaxLineBytes = 8192;

    private readonly List<byte> _partial = [];
    private bool _changed;
    private bool _skippingLine;

    /// <param name="maxBytes">Most bytes of the file read in all (the cap of a whole-file read).</param>
    /// <param name="rename">Applied to every name as it is read (e.g. <see cref="DotnetSymbolName.Normalize(string)"/>).</param>
    public PerfMapAccumulator(long maxBytes, Func<string, string>? rename = null)
    {
        MaxBytes = maxBytes;
        _rename = rename ?? (n => n);
    }

    public long MaxBytes { get; }

    /// <summary>The name transform (kept when a replaced file starts over).</summary>
    public Func<string, string> Rename => _rename;

    /// <summary>Bytes of the file consumed so far: where the next read starts.</summary>
    public long Offset { get; private set; }

    /// <summary>True once <see cref="MaxBytes"/> were read: later entries are not seen.</summary>
    public bool Full => Offset >= MaxBytes;

    public int Count => _entries.Count;

    /// <summary>The table of every entry read so far (rebuilt by <see cref="Publish"/> when entries were added).</summary>
    public SymbolTable Table { get; private set; } = SymbolTable.Empty;

    /// <summary>How many more bytes may be read.</summary>
    public long Remaining => Math.Max(0, MaxBytes - Offset);

    /// <summary>Consumes <paramref name="data"/>, the file's bytes from <see cref="Offset"/> on.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.Length > Remaining)
        {
            data = data[..(int)Remaining];
        }

        Offset += data.Length;
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            if (newline < 0)
            {
                if (_skippingLine || _partial.Count + data.Length > MaxLineBytes)
                {
                    _skippingLine = true; // memory stays bounded whatever the file holds
                    _partial.Clear();
                }
                else
                {
                    _partial.AddRange(data);
                }

                return;
            }

            if (_skippingLine)
            {
                _skippingLine = false;
            }
            else if (_partial.Count > 0)
            {
                _partial.AddRange(data[..newline]);
                ParseLine(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_partial));
                _partial.Clear();
            }
            else
            {
                ParseLine(data[..newline]);
            }

            data = data[(newline + 1)..];
        }
    }

    /// <summary>
    /// Adds every entry read so far to <paramref name="into"/>: start, size, name (renamed) and the raw name's
    /// trailing "[...]" tag (a .NET tier such as "[OptimizedTier1OSR]", else empty).
    /// </summary>
    public void CopyEntries(List<(ulong Start, ulong Size, string Name, string Tag)> into)
    {
        foreach (var (start, (size, name, tag)) in _entries)
        {
            into.Add((start, size, name, tag));
        }
    }

    /// <summary>Rebuilds <see cref="Table"/> if entries arrived since the last call.</summary>
    public SymbolTable Publish()
    {
        if (_changed)
        {
            var list = new List<(ulong, ulong, string)>(_entries.Count);
            foreach (var (start, (size, name, _)) in _entries)
            {
                list.Add((start, size, name));
            }

            Table = SymbolTable.FromEntries(list);
            _changed = false;
        }

        return Table;
    }

    private void ParseLine(ReadOnlySpan<byte> line)
    {
        // "START SIZE name", hex with or without 0x; anything else is skipped like the whole-file parser does.
        var s1 = line.IndexOf((byte)' ');
        if (s1 <= 0)
        {
            return;
        }

        var rest = line[(s1 + 1)..];
        var s2 = rest.IndexOf((byte)' ');
        if (s2 <= 0
            || !TryHex(line[..s1], out var start)
            || !TryHex(rest[..s2], out var size))
        {
            return;
        }

        var name = Encoding.UTF8.GetString(rest[(s2 + 1)..].TrimEnd((byte)'\r'));
        var open = name.EndsWith(']') ? name.LastIndexOf('[') : -1;
        var tag = open > 0 ? string.Intern(name[open..]) : "";
        _entries[start] = (size, _rename(name), tag);
        _changed = true;
    }

    private static bool TryHex(ReadOnlySpan<byte> text, out ulong value)
    {
        if (text.Length > 2 && text[0] == '0' && (text[1] | 0x20) == 'x')
        {
            text = text[2..];
        }

        return ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }
}
