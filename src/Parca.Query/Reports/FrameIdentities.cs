using Parca.Query.Engine;
using Parca.Storage.Symbols;

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
            id = Intern(LineKey(loc, line));
        }

        return id;
    }

    /// <summary>The identity of a location without lines (an unsymbolized address).</summary>
    public int OfLocation(int location)
    {
        ref var id = ref _ofLocation[location];
        if (id < 0)
        {
            id = Intern(LocationKey(_sym.Locations[location]));
        }

        return id;
    }

    /// <summary>
    /// Whether every line of every result location (and every location without lines) has an identity of its own, so
    /// that frame-graph siblings never merge. Checked on the keys alone: ids are still handed out in the order the
    /// graph asks for them (table rows follow that order).
    /// </summary>
    public bool AllDistinct()
    {
        var keys = new HashSet<(int, int, int, ulong)>(_sym.Lines.Count + 1);
        for (var location = 1; location < _sym.Locations.Count; location++)
        {
            var loc = _sym.Locations[location];
            if (loc.LineCount == 0 && !keys.Add(LocationKey(loc)))
            {
                return false;
            }

            for (var line = 0; line < loc.LineCount; line++)
            {
                if (!keys.Add(LineKey(loc, line)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private (int, int, int, ulong) LineKey(LocationSym loc, int line)
    {
        var l = _sym.Lines[loc.FirstLine + line];
        var fn = _sym.Functions[l.Function];
        var name = l.Function == 0 ? 0 : fn.Name;
        return (name, _byFile ? fn.FileName : 0, MappingFile(loc.Mapping), _byAddress || name == 0 ? loc.Address : 0);
    }

    private (int, int, int, ulong) LocationKey(LocationSym loc) => (0, 0, MappingFile(loc.Mapping), loc.Address);

    private int MappingFile(int mapping) => _byMapping && mapping != 0 ? _sym.Mappings[mapping].File : 0;

    private int Intern((int Name, int File, int Mapping, ulong Address) key)
    {
        ref var id = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_ids, key, out var exists);
        if (!exists)
        {
            id = _ids.Count - 1;
        }

        return id;
    }
}
