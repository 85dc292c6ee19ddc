using System.Buffers.Binary;
using System.Text;
using Parca.Agent.Interpreters;
using Parca.Agent.Processes;

namespace Parca.Agent.Runtimes.Java;

/// <summary>
/// The structure offsets a HotSpot JVM exports for serviceability tools: libjvm.so's .dynsym has
/// <c>gHotSpotVMStructs</c> (field entries: type name, field name, type string, is-static, offset, address),
/// <c>gHotSpotVMTypes</c> (type name and size) and <c>gHotSpotVMIntConstants</c>, each a pointer to an array ended
/// by an entry with a null type name, plus the entry layouts (<c>gHotSpotVMStructEntryTypeNameOffset</c>, ...).
/// They are read from the process's memory once per JVM (a few thousand entries; their strings lie in libjvm's
/// read-only data, read a page at a time). Only what naming an interpreted frame needs is kept.
/// </summary>
internal sealed class HotSpotVMStructs
{
    private const int MaxEntries = 20_000;

    private static readonly string[] s_symbols =
    [
        "gHotSpotVMStructs", "gHotSpotVMStructEntryArrayStride", "gHotSpotVMStructEntryTypeNameOffset",
        "gHotSpotVMStructEntryFieldNameOffset", "gHotSpotVMStructEntryTypeStringOffset", "gHotSpotVMStructEntryIsStaticOffset",
        "gHotSpotVMStructEntryOffsetOffset", "gHotSpotVMTypes", "gHotSpotVMTypeEntryArrayStride", "gHotSpotVMTypeEntryTypeNameOffset",
        "gHotSpotVMTypeEntrySizeOffset", "gHotSpotVMIntConstants", "gHotSpotVMIntConstantEntryArrayStride",
        "gHotSpotVMIntConstantEntryNameOffset", "gHotSpotVMIntConstantEntryValueOffset",
    ];

    /// <summary>Non-static fields as "Type::field" → (offset, type string).</summary>
    public Dictionary<string, (ulong Offset, string Type)> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary>Type sizes by name.</summary>
    public Dictionary<string, ulong> Sizes { get; } = new(StringComparer.Ordinal);

    /// <summary>Integer constants by name.</summary>
    public Dictionary<string, long> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>The field's offset; throws naming the field when this JVM does not export it.</summary>
    public int Offset(string field) =>
        Fields.TryGetValue(field, out var f) ? (int)f.Offset : throw new InvalidDataException($"the JVM exports no {field}");

    public int Size(string type) =>
        Sizes.TryGetValue(type, out var s) ? (int)s : throw new InvalidDataException($"the JVM exports no size of {type}");

    /// <summary>Reads the tables of the JVM <paramref name="info"/> through its memory <paramref name="memory"/>.</summary>
    public static HotSpotVMStructs Read(ProcessInfo info, ObjectFileCache objects, ProcessFiles files, ProcessMemory memory)
    {
        var mapping = info.Mappings.FirstOrDefault(m => m.Kind == MappingKind.File && m.Path.EndsWith("/libjvm.so", StringComparison.Ordinal))
            ?? throw new InvalidDataException("libjvm.so is not mapped");
        var found = ObjectFileLease.Use(
            () => objects.Get(info.Pid, mapping, files),
            file =>
            {
                if (file.Elf is not { } elf || !elf.TryFileOffsetToAddress(mapping.Offset, out var mapped))
                {
                    return null;
                }

                var bias = mapping.Start - mapped;
                return ElfNamedSymbols.Find(elf, file.Handle!, s_symbols).ToDictionary(kv => kv.Key, kv => kv.Value.Value + bias, StringComparer.Ordinal);
            },
            null) ?? throw new InvalidDataException($"{mapping.Path} could not be read");
        var missing = s_symbols.Where(s => !found.ContainsKey(s)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"{mapping.Path} exports no {string.Join(", ", missing)}");
        }

        ulong Word(string symbol) => memory.Word(found[symbol]);
        var result = new HotSpotVMStructs();
        var strings = new PageCache(memory);

        var at = Word("gHotSpotVMStructs");
        ulong stride = Word("gHotSpotVMStructEntryArrayStride"), typeName = Word("gHotSpotVMStructEntryTypeNameOffset"),
            fieldName = Word("gHotSpotVMStructEntryFieldNameOffset"), typeString = Word("gHotSpotVMStructEntryTypeStringOffset"),
            isStatic = Word("gHotSpotVMStructEntryIsStaticOffset"), offset = Word("gHotSpotVMStructEntryOffsetOffset");
        Span<byte> entry = stackalloc byte[64];
        CheckStride(stride, entry.Length, typeName, fieldName, typeString, isStatic, offset);
        for (var i = 0; i < MaxEntries; i++, at += stride)
        {
            var e = entry[..(int)stride];
            memory.Read(at, e);
            var type = BinaryPrimitives.ReadUInt64LittleEndian(e[(int)typeName..]);
            if (type == 0)
            {
                break;
            }

            if (BinaryPrimitives.ReadInt32LittleEndian(e[(int)isStatic..]) != 0)
            {
                continue;
            }

            var name = strings.String(type) + "::" + strings.String(BinaryPrimitives.ReadUInt64LittleEndian(e[(int)fieldName..]));
            var typeText = BinaryPrimitives.ReadUInt64LittleEndian(e[(int)typeString..]) is var t and not 0 ? strings.String(t) : "";
            result.Fields.TryAdd(name, (BinaryPrimitives.ReadUInt64LittleEndian(e[(int)offset..]), typeText));
        }

        at = Word("gHotSpotVMTypes");
        stride = Word("gHotSpotVMTypeEntryArrayStride");
        ulong tName = Word("gHotSpotVMTypeEntryTypeNameOffset"), tSize = Word("gHotSpotVMTypeEntrySizeOffset");
        CheckStride(stride, entry.Length, tName, tSize);
        for (var i = 0; i < MaxEntries; i++, at += stride)
        {
            var e = entry[..(int)stride];
            memory.Read(at, e);
            var type = BinaryPrimitives.ReadUInt64LittleEndian(e[(int)tName..]);
            if (type == 0)
            {
                break;
            }

            result.Sizes.TryAdd(strings.String(type), BinaryPrimitives.ReadUInt64LittleEndian(e[(int)tSize..]));
        }

        at = Word("gHotSpotVMIntConstants");
        stride = Word("gHotSpotVMIntConstantEntryArrayStride");
        ulong cName = Word("gHotSpotVMIntConstantEntryNameOffset"), cValue = Word("gHotSpotVMIntConstantEntryValueOffset");
        CheckStride(stride, entry.Length, cName, cValue);
        for (var i = 0; i < MaxEntries; i++, at += stride)
        {
            var e = entry[..(int)stride];
            memory.Read(at, e);
            var name = BinaryPrimitives.ReadUInt64LittleEndian(e[(int)cName..]);
            if (name == 0)
            {
                break;
            }

            result.Constants.TryAdd(strings.String(name), BinaryPrimitives.ReadInt32LittleEndian(e[(int)cValue..]));
        }

        return result;
    }

    private static void CheckStride(ulong stride, int max, params ulong[] offsets)
    {
        if (stride == 0 || stride > (ulong)max || offsets.Any(o => o + 8 > stride))
        {
            throw new InvalidDataException($"implausible VMStructs entry layout (stride {stride}, offsets {string.Join(",", offsets)})");
        }
    }

    /// <summary>NUL-terminated strings of the JVM's read-only data, read a 4 KiB page at a time (they lie together).</summary>
    private sealed class PageCache(ProcessMemory memory)
    {
        private const int Page = 4096;
        private readonly Dictionary<ulong, byte[]> _pages = [];

        public string String(ulong address)
        {
            var text = new StringBuilder();
            for (var n = 0; n < 256; n++, address++)
            {
                var page = address & ~(ulong)(Page - 1);
                if (!_pages.TryGetValue(page, out var bytes))
                {
                    bytes = new byte[Page];
                    memory.Read(page, bytes);
                    _pages[page] = bytes;
                }

                var b = bytes[(int)(address - page)];
                if (b == 0)
                {
                    break;
                }

                text.Append((char)b);
            }

            return text.ToString();
        }
    }
}
