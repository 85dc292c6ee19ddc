namespace Parca.Symbols.Symbolization;

/// <summary>
/// One line of a symbolized location: <see cref="Name"/> (demangled per the mode), <see cref="SystemName"/> (the
/// linkage name as found), source file and line (0 when unknown). A location's frames are listed innermost first;
/// all but the last are functions inlined into the next.
/// </summary>
public readonly record struct SymbolizedFrame(string Name, string SystemName, string File, long Line);

/// <summary>What a debug file offers (Parca's DebuginfoQuality flags).</summary>
public readonly record struct DebugFileQuality(bool HasDwarf, bool HasGoPclntab, bool HasSymtab, bool HasDynsym)
{
    public bool CanSymbolize => HasDwarf || HasGoPclntab || HasSymtab || HasDynsym;
}
