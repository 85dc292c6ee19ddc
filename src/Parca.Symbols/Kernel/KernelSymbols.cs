namespace Parca.Symbols.Kernel;

/// <summary>
/// Kernel text symbols from /proc/kallsyms, modules included (their names get a " [module]" suffix as perf shows
/// them). <see cref="ReloadIfChanged"/> re-reads the file when /proc/modules changed, i.e. a module was (un)loaded.
/// </summary>
public sealed class KernelSymbols
{
    private readonly string _kallsymsPath;
    private readonly string _modulesPath;
    private readonly Lock _lock = new();
    private ulong[] _starts = [];
    private int[] _nameOffsets = [];
    private byte[] _names = [];
    private string _modulesSnapshot = "";

    public KernelSymbols(string kallsymsPath = "/proc/kallsyms", string modulesPath = "/proc/modules")
    {
        _kallsymsPath = kallsymsPath;
        _modulesPath = modulesPath;
        Load();
    }

    public int Count => _starts.Length;

    /// <summary>How many times the symbols were (re)loaded.</summary>
    public int Loads { get; private set; }

    /// <summary>Re-reads kallsyms when the set of loaded modules changed; returns true when it did.</summary>
    public bool ReloadIfChanged()
    {
        var modules = ReadModules();
        lock (_lock)
        {
            if (modules == _modulesSnapshot)
            {
                return false;
            }
        }

        Load();
        return true;
    }

    /// <summary>The function containing <paramref name="address"/>, or null outside the kernel's known text.</summary>
    public string? Lookup(ulong address)
    {
        ulong[] starts;
        int[] offsets;
        byte[] names;
        lock (_lock)
        {
            starts = _starts;
            offsets = _nameOffsets;
            names = _names;
        }

        var i = Array.BinarySearch(starts, address);
        if (i < 0)
        {
            i = ~i - 1;
        }

        if (i < 0)
        {
            return null;
        }

        var end = i + 1 < offsets.Length ? offsets[i + 1] : names.Length;
        return System.Text.Encoding.UTF8.GetString(names, offsets[i], end - offsets[i]);
    }

    private void Load()
    {
        // kallsyms has ~120,000-200,000 lines. It is parsed as bytes: no string per line or per name (that garbage,
        // ~20 MB, used to grow the agent's heap at start-up), names copied as UTF-8 into one array.
        var modules = ReadModules();
        var parsed = new ParsedSymbols();
        using (var file = new FileStream(_kallsymsPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1, FileOptions.SequentialScan))
        {
            var buffer = new byte[64 * 1024];
            var filled = 0;
            while (true)
            {
                var read = file.Read(buffer, filled, buffer.Length - filled);
                filled += read;
                var data = buffer.AsSpan(0, filled);
                var consumed = 0;
                int newline;
                while ((newline = data[consumed..].IndexOf((byte)'\n')) >= 0)
                {
                    parsed.AddLine(data.Slice(consumed, newline));
                    consumed += newline + 1;
                }

                if (read == 0)
                {
                    if (consumed < filled)
                    {
                        parsed.AddLine(data[consumed..]); // last line without a newline
                    }

                    break;
                }

                data[consumed..].CopyTo(buffer);
                filled -= consumed;
                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2); // a line longer than the buffer
                }
            }
        }

        var (starts, offsets, names) = parsed.ToSorted();
        lock (_lock)
        {
            _starts = starts;
            _nameOffsets = offsets;
            _names = names;
            _modulesSnapshot = modules;
            Loads++;
        }
    }

    /// <summary>Text symbols as they are read: addresses, and name ranges in one UTF-8 buffer.</summary>
    private sealed class ParsedSymbols
    {
        private ulong[] _addresses = new ulong[1 << 16];
        private int[] _nameStarts = new int[1 << 16];
        private byte[] _names = new byte[1 << 21];
        private int _count;
        private int _nameBytes;

        /// <summary>"ffffffff81000000 T _stext" or "ffffffffc0a01000 t fn\t[module]" (kept as "fn [module]").</summary>
        public void AddLine(ReadOnlySpan<byte> line)
        {
            var firstSpace = line.IndexOf((byte)' ');
            if (firstSpace <= 0 || line.Length < firstSpace + 4 || line[firstSpace + 2] != (byte)' ')
            {
                return;
            }

            if (line[firstSpace + 1] is not ((byte)'t' or (byte)'T' or (byte)'w' or (byte)'W'))
            {
                return;
            }

            if (!System.Buffers.Text.Utf8Parser.TryParse(line[..firstSpace], out ulong address, out var used, 'x') || used != firstSpace || address == 0)
            {
                return;
            }

            var rest = line[(firstSpace + 3)..];
            var tab = rest.IndexOf((byte)'\t');
            if (_count == _addresses.Length)
            {
                Array.Resize(ref _addresses, _count * 2);
                Array.Resize(ref _nameStarts, _count * 2);
            }

            _addresses[_count] = address;
            _nameStarts[_count++] = _nameBytes;
            if (tab < 0)
            {
                Append(rest);
            }
            else
            {
                Append(rest[..tab]);
                Append(" "u8);
                Append(rest[(tab + 1)..].Trim((byte)' '));
            }
        }

        /// <summary>Addresses ascending, each name's start in one array that holds the names in that order.</summary>
        public (ulong[] Starts, int[] Offsets, byte[] Names) ToSorted()
        {
            var order = new int[_count];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            var addresses = _addresses.AsSpan(0, _count).ToArray();
            Array.Sort(addresses, order);
            var offsets = new int[_count];
            var names = new byte[_nameBytes];
            var at = 0;
            for (var i = 0; i < order.Length; i++)
            {
                var symbol = order[i];
                var start = _nameStarts[symbol];
                var end = symbol + 1 < _count ? _nameStarts[symbol + 1] : _nameBytes;
                offsets[i] = at;
                _names.AsSpan(start, end - start).CopyTo(names.AsSpan(at));
                at += end - start;
            }

            return (addresses, offsets, names);
        }

        private void Append(ReadOnlySpan<byte> bytes)
        {
            if (_nameBytes + bytes.Length > _names.Length)
            {
                Array.Resize(ref _names, Math.Max(_names.Length * 2, _nameBytes + bytes.Length));
            }

            bytes.CopyTo(_names.AsSpan(_nameBytes));
            _nameBytes += bytes.Length;
        }
    }

    private string ReadModules()
    {
        try
        {
            // Keep name and load address only: the use counts in /proc/modules change without any symbol changing.
            var lines = File.ReadAllLines(_modulesPath).Select(l => l.Split(' ')).Where(f => f.Length >= 6).Select(f => f[0] + " " + f[^1]);
            return string.Join('\n', lines);
        }
        catch (IOException)
        {
            return "";
        }
    }
}
