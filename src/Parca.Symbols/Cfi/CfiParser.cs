namespace Parca.Symbols.Cfi;

/// <summary>
/// Walks the CIE and FDE records of one .eh_frame or .debug_frame section and runs each FDE's program
/// (<see cref="CfaMachine"/>). The two formats differ in the CIE id (0 vs 0xffffffff), what an FDE's CIE pointer is
/// relative to (the pointer field vs the section start) and the address encoding (the CIE's 'R' augmentation vs
/// plain 8-byte addresses).
/// </summary>
internal static class CfiParser
{
    /// <summary>Adds the rows of every FDE in <paramref name="section"/> to <paramref name="rows"/>; returns the FDE count.</summary>
    /// <param name="skipStarts">Functions already covered (by .eh_frame when this is .debug_frame): skipped. Null: none.</param>
    /// <param name="starts">Receives each FDE's first pc (for the .debug_frame pass). Null: not collected.</param>
    public static int Parse(ReadOnlySpan<byte> section, ulong sectionAddress, bool debugFrame, List<UnwindRowBuilder.Pending> rows, HashSet<ulong>? skipStarts, HashSet<ulong>? starts)
    {
        var cursor = new CfiCursor(section, 0, sectionAddress);
        var cies = new Dictionary<int, (Cie Cie, CfaState Initial)>();
        var fdes = 0;
        while (!cursor.AtEnd)
        {
            var recordStart = cursor.Position;
            ulong length = cursor.U32();
            if (length == 0)
            {
                if (debugFrame)
                {
                    continue;
                }

                break; // .eh_frame's terminator
            }

            var is64 = length == 0xffffffff;
            if (is64)
            {
                length = cursor.U64();
            }

            var bodyStart = cursor.Position;
            if (length > (ulong)(cursor.Length - bodyStart))
            {
                cursor.Throw($"record at 0x{recordStart:x} of length 0x{length:x} runs past the section end");
            }

            var recordEnd = bodyStart + (int)length;
            var idPosition = cursor.Position;
            var id = is64 ? cursor.U64() : cursor.U32();
            var isCie = debugFrame ? id == (is64 ? ulong.MaxValue : 0xffffffff) : id == 0;
            if (isCie)
            {
                var cie = ReadCie(ref cursor, recordEnd, debugFrame);
                var init = CfaMachine.Initial(cie, ref cursor);
                cies[recordStart] = (cie, init);
            }
            else
            {
                var ciePosition = debugFrame ? (long)id : idPosition - (long)id;
                if (!cies.TryGetValue((int)Math.Clamp(ciePosition, -1, int.MaxValue), out var entry))
                {
                    var save = cursor.Position;
                    entry = LoadCie(section, sectionAddress, ciePosition, debugFrame, ref cursor);
                    cies[(int)ciePosition] = entry;
                    cursor.Position = save;
                }

                var (cie, initial) = entry;
                var encoding = debugFrame && cie.FdeEncoding == 0xff ? (byte)0x00 : cie.FdeEncoding;
                var start = cursor.Pointer(encoding);
                var range = cursor.Pointer((byte)(encoding & 0x0f));
                if (cie.HasAugmentationData)
                {
                    var augLength = checked((int)cursor.Uleb());
                    cursor.Position += augLength;
                }

                if (cursor.Position > recordEnd)
                {
                    cursor.Throw($"FDE at 0x{recordStart:x}: header runs past its end");
                }

                fdes++;
                // Discarded functions keep an FDE at address 0 (linker garbage collection, .debug_frame of COMDATs).
                if (start != 0 && range != 0 && range < 1UL << 32 && skipStarts?.Contains(start) != true)
                {
                    starts?.Add(start);
                    CfaMachine.RunFde(cie, ref cursor, recordEnd, initial, start, start + range, rows, encoding);
                    rows.Add(UnwindRowBuilder.Pending.Marker(start + range));
                }
            }

            cursor.Position = recordEnd;
        }

        return fdes;
    }

    private static (Cie, CfaState) LoadCie(ReadOnlySpan<byte> section, ulong address, long position, bool debugFrame, ref CfiCursor outer)
    {
        if (position < 0 || position >= section.Length)
        {
            outer.Throw($"FDE points to a CIE at 0x{position:x}, outside the section");
        }

        var c = new CfiCursor(section, (int)position, address);
        ulong length = c.U32();
        var is64 = length == 0xffffffff;
        if (is64)
        {
            length = c.U64();
        }

        if (length > (ulong)(c.Length - c.Position))
        {
            c.Throw("CIE runs past the section end");
        }

        var end = c.Position + (int)length;
        var id = is64 ? c.U64() : c.U32();
        if (debugFrame ? id != (is64 ? ulong.MaxValue : 0xffffffff) : id != 0)
        {
            c.Throw($"FDE's CIE pointer 0x{position:x} does not point to a CIE");
        }

        var cie = ReadCie(ref c, end, debugFrame);
        return (cie, CfaMachine.Initial(cie, ref c));
    }

    private static Cie ReadCie(ref CfiCursor c, int end, bool debugFrame)
    {
        var version = c.U8();
        if (version is not (1 or 3 or 4))
        {
            c.Throw($"unsupported CIE version {version}");
        }

        var augmentation = c.CString();
        if (version == 4)
        {
            var addressSize = c.U8();
            _ = c.U8(); // segment selector size
            if (addressSize != 8)
            {
                c.Throw($"CIE address size {addressSize}, expected 8");
            }
        }

        var codeAlign = c.Uleb();
        var dataAlign = c.Sleb();
        var ra = version == 1 ? c.U8() : c.Uleb();
        byte fdeEncoding = debugFrame ? (byte)0xff : (byte)0x00;
        byte lsda = 0xff;
        var hasAug = false;
        var signal = false;
        if (augmentation.Length > 0 && augmentation[0] == (byte)'z')
        {
            hasAug = true;
            var augLength = checked((int)c.Uleb());
            var augEnd = c.Position + augLength;
            for (var i = 1; i < augmentation.Length; i++)
            {
                switch ((char)augmentation[i])
                {
                    case 'R':
                        fdeEncoding = c.U8();
                        break;
                    case 'L':
                        lsda = c.U8();
                        break;
                    case 'P':
                        var personalityEncoding = c.U8();
                        _ = c.Pointer((byte)(personalityEncoding & 0x7f));
                        break;
                    case 'S':
                        signal = true;
                        break;
                    case 'B':
                    case 'G':
                        break;
                    default:
                        c.Position = augEnd; // unknown letters: the length lets us skip their data
                        i = augmentation.Length;
                        break;
                }
            }

            c.Position = augEnd;
        }
        else if (augmentation.SequenceEqual("eh"u8))
        {
            _ = c.U64(); // the old GNU exception-table pointer
        }
        else if (augmentation.Length > 0)
        {
            c.Throw($"unsupported CIE augmentation \"{System.Text.Encoding.ASCII.GetString(augmentation)}\"");
        }

        if (c.Position > end)
        {
            c.Throw("CIE header runs past its end");
        }

        return new Cie(codeAlign == 0 ? 1 : codeAlign, dataAlign, ra, fdeEncoding, lsda, hasAug, signal, c.Position, end);
    }
}
