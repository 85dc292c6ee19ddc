namespace Parca.Symbols.Dwarf;

/// <summary>The DW_TAG, DW_AT, DW_FORM and DW_LNS/DW_LNE/DW_RLE values this reader uses (DWARF 5 standard, §7).</summary>
internal static class DwarfConstants
{
    public const ushort TagInlinedSubroutine = 0x1d;
    public const ushort TagCompileUnit = 0x11;
    public const ushort TagSubprogram = 0x2e;
    public const ushort TagPartialUnit = 0x3c;
    public const ushort TagSkeletonUnit = 0x4a;

    public const ushort AtName = 0x03;
    public const ushort AtStmtList = 0x10;
    public const ushort AtLowPc = 0x11;
    public const ushort AtHighPc = 0x12;
    public const ushort AtCompDir = 0x1b;
    public const ushort AtAbstractOrigin = 0x31;
    public const ushort AtDeclFile = 0x3a;
    public const ushort AtDeclLine = 0x3b;
    public const ushort AtSpecification = 0x47;
    public const ushort AtRanges = 0x55;
    public const ushort AtCallFile = 0x58;
    public const ushort AtCallLine = 0x59;
    public const ushort AtLinkageName = 0x6e;
    public const ushort AtStrOffsetsBase = 0x72;
    public const ushort AtAddrBase = 0x73;
    public const ushort AtRnglistsBase = 0x74;
    public const ushort AtMipsLinkageName = 0x2007;
    public const ushort AtGnuRangesBase = 0x2132;
    public const ushort AtGnuAddrBase = 0x2133;

    public const ushort FormAddr = 0x01;
    public const ushort FormBlock2 = 0x03;
    public const ushort FormBlock4 = 0x04;
    public const ushort FormData2 = 0x05;
    public const ushort FormData4 = 0x06;
    public const ushort FormData8 = 0x07;
    public const ushort FormString = 0x08;
    public const ushort FormBlock = 0x09;
    public const ushort FormBlock1 = 0x0a;
    public const ushort FormData1 = 0x0b;
    public const ushort FormFlag = 0x0c;
    public const ushort FormSdata = 0x0d;
    public const ushort FormStrp = 0x0e;
    public const ushort FormUdata = 0x0f;
    public const ushort FormRefAddr = 0x10;
    public const ushort FormRef1 = 0x11;
    public const ushort FormRef2 = 0x12;
    public const ushort FormRef4 = 0x13;
    public const ushort FormRef8 = 0x14;
    public const ushort FormRefUdata = 0x15;
    public const ushort FormIndirect = 0x16;
    public const ushort FormSecOffset = 0x17;
    public const ushort FormExprloc = 0x18;
    public const ushort FormFlagPresent = 0x19;
    public const ushort FormStrx = 0x1a;
    public const ushort FormAddrx = 0x1b;
    public const ushort FormRefSup4 = 0x1c;
    public const ushort FormStrpSup = 0x1d;
    public const ushort FormData16 = 0x1e;
    public const ushort FormLineStrp = 0x1f;
    public const ushort FormRefSig8 = 0x20;
    public const ushort FormImplicitConst = 0x21;
    public const ushort FormLoclistx = 0x22;
    public const ushort FormRnglistx = 0x23;
    public const ushort FormRefSup8 = 0x24;
    public const ushort FormStrx1 = 0x25;
    public const ushort FormStrx2 = 0x26;
    public const ushort FormStrx3 = 0x27;
    public const ushort FormStrx4 = 0x28;
    public const ushort FormAddrx1 = 0x29;
    public const ushort FormAddrx2 = 0x2a;
    public const ushort FormAddrx3 = 0x2b;
    public const ushort FormAddrx4 = 0x2c;
    public const ushort FormGnuAddrIndex = 0x1f01;
    public const ushort FormGnuStrIndex = 0x1f02;
    public const ushort FormGnuRefAlt = 0x1f20;
    public const ushort FormGnuStrpAlt = 0x1f21;
}
