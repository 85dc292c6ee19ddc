using System.Buffers.Binary;
using System.Text;

namespace Parca.Agent.Runtimes.Java;

/// <summary>
/// One Java method as an interpreted frame names it: <c>package.Class.method(params)</c> (the perf map's form, return
/// type dropped), its source file and the (bytecode index, line) pairs of its line-number table.
/// <paramref name="ConstMethod"/> is what the cache re-checks against the Method* (see <see cref="HotSpotInterpreter"/>).
/// </summary>
internal sealed record HotSpotMethod(string Name, string? File, ulong ConstMethod, ulong CodeStart, int CodeSize, (int Bci, int Line)[] Lines)
{
    /// <summary>The line of the bytecode whose pointer's low 15 bits are <paramref name="bcpLow"/> (0 when unknown).</summary>
    public int LineOf(uint bcpLow)
    {
        var bci = (int)((bcpLow - (uint)CodeStart) & 0x7fff);
        if (bci >= CodeSize || Lines.Length == 0)
        {
            return Lines.Length > 0 ? Lines[0].Line : 0;
        }

        var line = Lines[0].Line;
        foreach (var (b, l) in Lines)
        {
            if (b > bci)
            {
                break;
            }

            line = l;
        }

        return line;
    }
}

/// <summary>Reads a Method* through the JVM's exported layout (<see cref="HotSpotVMStructs"/>).</summary>
internal sealed class HotSpotMethodReader
{
    private const int MaxLineTableBytes = 8192;
    private readonly int _constMethod, _constants, _codeSize, _nameIndex, _signatureIndex, _flags, _flagsBytes, _constMethodSize;
    private readonly int _poolHolder, _constantPoolSize, _sourceFile, _klassName, _symbolLength, _symbolBody;
    private readonly long _hasLineTable;

    public HotSpotMethodReader(HotSpotVMStructs vm)
    {
        _constMethod = vm.Offset("Method::_constMethod");
        _constants = vm.Offset("ConstMethod::_constants");
        _codeSize = vm.Offset("ConstMethod::_code_size");
        _nameIndex = vm.Offset("ConstMethod::_name_index");
        _signatureIndex = vm.Offset("ConstMethod::_signature_index");
        // JDK 17: a u2 with ConstMethod::_has_linenumber_table; JDK 21: ConstMethodFlags' u4 _flags._flags.
        var flags = vm.Fields.TryGetValue("ConstMethod::_flags", out var f) ? f : vm.Fields.GetValueOrDefault("ConstMethod::_flags._flags");
        _flags = (int)flags.Offset;
        _flagsBytes = flags.Type is "u4" or "int" ? 4 : 2;
        _hasLineTable = vm.Constants.TryGetValue("ConstMethod::_has_linenumber_table", out var h) ? h
            : vm.Constants.TryGetValue("ConstMethodFlags::_misc_has_linenumber_table", out h) ? h : 1;
        _constMethodSize = vm.Size("ConstMethod");
        _poolHolder = vm.Offset("ConstantPool::_pool_holder");
        _constantPoolSize = vm.Size("ConstantPool");
        _sourceFile = vm.Fields.TryGetValue("ConstantPool::_source_file_name_index", out var s) ? (int)s.Offset : -1;
        _klassName = vm.Offset("Klass::_name");
        _symbolLength = vm.Offset("Symbol::_length");
        _symbolBody = vm.Offset("Symbol::_body");
    }

    /// <summary>The ConstMethod* of <paramref name="method"/> (the cache's validation: one word).</summary>
    public ulong ConstMethodOf(ProcessMemory memory, ulong method) => memory.Word(method + (ulong)_constMethod);

    public HotSpotMethod Read(ProcessMemory memory, ulong method)
    {
        var constMethod = ConstMethodOf(memory, method);
        Span<byte> header = stackalloc byte[Math.Min(_constMethodSize, 256)];
        memory.Read(constMethod, header);
        var constants = BinaryPrimitives.ReadUInt64LittleEndian(header[_constants..]);
        int codeSize = BinaryPrimitives.ReadUInt16LittleEndian(header[_codeSize..]);
        int nameIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[_nameIndex..]);
        int signatureIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[_signatureIndex..]);
        var flags = _flagsBytes == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(header[_flags..]) : BinaryPrimitives.ReadUInt16LittleEndian(header[_flags..]);

        var holder = memory.Word(constants + (ulong)_poolHolder);
        // A hidden class (a lambda's) is named Outer$$Lambda$1+0x...; the JVM shows it with a slash, as its perf map does.
        var klass = Symbol(memory, memory.Word(holder + (ulong)_klassName)).Replace('/', '.').Replace("+0x", "/0x", StringComparison.Ordinal);
        var name = Symbol(memory, PoolSymbol(memory, constants, nameIndex));
        var signature = Symbol(memory, PoolSymbol(memory, constants, signatureIndex));
        string? file = null;
        if (_sourceFile >= 0)
        {
            Span<byte> index = stackalloc byte[2];
            memory.Read(constants + (ulong)_sourceFile, index);
            var i = BinaryPrimitives.ReadUInt16LittleEndian(index);
            file = i == 0 ? null : Symbol(memory, PoolSymbol(memory, constants, i));
        }

        if (klass.Length == 0 || name.Length == 0)
        {
            throw new IOException($"{method:x} is not a method"); // slots read while a frame was built or torn down
        }

        var codeStart = constMethod + (ulong)_constMethodSize;
        var lines = (flags & _hasLineTable) != 0 ? LineTable(memory, codeStart + (ulong)codeSize) : [];
        return new HotSpotMethod($"{klass}.{name}{Parameters(signature)}", file, constMethod, codeStart, codeSize, lines);
    }

    private ulong PoolSymbol(ProcessMemory memory, ulong constants, int index) =>
        memory.Word(constants + (ulong)_constantPoolSize + (8UL * (ulong)index));

    private string Symbol(ProcessMemory memory, ulong symbol)
    {
        Span<byte> length = stackalloc byte[2];
        memory.Read(symbol + (ulong)_symbolLength, length);
        var n = BinaryPrimitives.ReadUInt16LittleEndian(length);
        var bytes = new byte[n];
        memory.Read(symbol + (ulong)_symbolBody, bytes);
        return Encoding.UTF8.GetString(bytes); // modified UTF-8: the same for names without NUL or supplementary characters
    }

    private static (int, int)[] LineTable(ProcessMemory memory, ulong start)
    {
        var bytes = new byte[256];
        var read = 0;
        while (true)
        {
            // Read on until the table's terminator is in the buffer (a table rarely exceeds a few hundred bytes).
            try
            {
                memory.Read(start + (ulong)read, bytes.AsSpan(read));
            }
            catch (IOException) when (read > 0)
            {
            }

            if (Array.IndexOf(bytes, (byte)0) >= 0 || bytes.Length >= MaxLineTableBytes)
            {
                break;
            }

            read = bytes.Length;
            Array.Resize(ref bytes, bytes.Length * 2);
        }

        return HotSpotLineTable.Decode(bytes);
    }

    /// <summary>A method descriptor's parameters as Java types: "(J[Ljava/lang/String;)V" → "(long, java.lang.String[])".</summary>
    internal static string Parameters(string descriptor)
    {
        var text = new StringBuilder("(");
        var i = descriptor.StartsWith('(') ? 1 : 0;
        var first = true;
        while (i < descriptor.Length && descriptor[i] != ')')
        {
            var dims = 0;
            while (i < descriptor.Length && descriptor[i] == '[')
            {
                dims++;
                i++;
            }

            if (i >= descriptor.Length)
            {
                break;
            }

            string type;
            if (descriptor[i] == 'L')
            {
                var end = descriptor.IndexOf(';', i);
                end = end < 0 ? descriptor.Length : end;
                type = descriptor[(i + 1)..end].Replace('/', '.');
                i = end + 1;
            }
            else
            {
                type = descriptor[i++] switch
                {
                    'B' => "byte",
                    'C' => "char",
                    'D' => "double",
                    'F' => "float",
                    'I' => "int",
                    'J' => "long",
                    'S' => "short",
                    'Z' => "boolean",
                    _ => "?",
                };
            }

            text.Append(first ? "" : ", ").Append(type);
            for (var d = 0; d < dims; d++)
            {
                text.Append("[]");
            }

            first = false;
        }

        return text.Append(')').ToString();
    }
}
