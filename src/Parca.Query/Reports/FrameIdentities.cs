using Parca.Query.Engine;

namespace Parca.Query.Reports;

/// <summary>
/// Interns what a flame-graph frame is, apart from where it sits: the function name (or the address when
/// unsymbolized or grouped by address), combined with the file name and mapping file when the query groups by them.
/// Each location line is resolved once and remembered by its slot in <see cref="ResultSymbols.Lines"/> (lines are
/// stored per location), so building a graph of N nodes costs N array reads, not N composite-key hashes.
/// </summary>
internal sealed class FrameIdentities
{
    private readonly ResultSymbols _sym;
    private readonly bool _byAddress;
    private readonly bool _byFile;
    private readonly bool _byMapping;
    private readonly Dictionary<(int Name, int File, int Mapping, ulong Address), int> _ids = [];
    private readonly int[] _ofLineSlot;
    private readonly int[] _ofLocation;

    public FrameIdentities(MergeResult r)
    {
        _sym = r.Symbols;
        _byAddress = r.GroupBy.Contains("location_address");
        _byFile = r.GroupBy.Contains("function_file_name");
        _byMapping = r.GroupBy.Contains("mapping_file");
        _ofLineSlot = new int[_sym.Lines.Count];
        _ofLocation = new int[_sym.Locations.Count];
        _ofLineSlot.AsSpan().Fill(-1);
        _ofLocation.AsSpan().Fill(-1);
    }

    public int Count => _ids.Count;

    /// <summary>The identity of line <paramref name="line"/> (0 = innermost inlined) of a symbolized location.</summary>
    public int OfLine(int location, int line)
    {
        var loc = _sym.Locations[location];
        ref var id = ref _ofLineSlot[loc.FirstLine + line];
        if (id < 0)
        {
            var l = _sym.Lines[loc.FirstLine + line];
            var fn = _sym.Functions[l.Function];
            var name = l.Function == 0 ? 0 : fn.Name;
            id = Intern(name, _byFile ? fn.FileName : 0, MappingFile(loc.Mapping), _byAddress || name == 0 ? loc.Address : 0);
        }

        return id;
    }

    /// <summary>The identity of a location without lines (an unsymbolized address).</summary>
    public int OfLocation(int location)
    {
        ref var id = ref _ofLocation[location];
        if (id < 0)
        {
            var loc = _sym.Locations[location];
            id = Intern(0, 0, MappingFile(loc.Mapping), loc.Address);
        }

        return id;
    }

    private int MappingFile(int mapping) => _byMapping && mapping != 0 ? _sym.Mappings[mapping].File : 0;

    private int Intern(int name, int file, int mapping, ulong address)
    {
        ref var id = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_ids, (name, file, mapping, address), out var exists);
        if (!exists)
        {
            id = _ids.Count - 1;
        }

        return id;
    }
}
