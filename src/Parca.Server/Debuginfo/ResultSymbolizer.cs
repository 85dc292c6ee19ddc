using Parca.Query.Engine;

namespace Parca.Server.Debuginfo;

/// <summary>
/// Query-time symbolization (our documented choice, as Parca): before a report is built, every location of the result
/// that has a mapping with a build id and no lines is looked up in that build id's debuginfo. Locations a client named
/// from a symbol table only (every line without a line number, as our agent names stripped binaries from their debug
/// file's .symtab, with the binary as the file) are looked up too when the server already holds debuginfo for the build id, and take
/// the server's answer when it has file and line (DWARF or .gopclntab: inlined frames, positions); they never cause a
/// debuginfod request. Nothing is rewritten in storage, so profiles stored before their debuginfo arrived are named as
/// soon as it does; answers are cached per (build id, address) by <see cref="DebuginfoSymbolizer"/>.
/// </summary>
internal sealed class ResultSymbolizer(DebuginfoSymbolizer symbolizer)
{
    /// <summary>Names what it can; true when no location is left that debuginfo arriving later could name (such a
    /// result may be cached as it is).</summary>
    public async ValueTask<bool> SymbolizeAsync(ResultSymbols symbols, CancellationToken ct)
    {
        var complete = true;
        var frames = new List<(string, string, string, long)>(4);
        Dictionary<string, bool>? held = null;
        for (var i = 1; i < symbols.Locations.Count; i++)
        {
            var loc = symbols.Locations[i];
            if (loc.Mapping == 0)
            {
                continue;
            }

            var namesOnly = loc.LineCount != 0 && NamesOnly(symbols, loc);
            if (loc.LineCount != 0 && !namesOnly)
            {
                continue;
            }

            var mapping = symbols.Mappings[loc.Mapping];
            var buildId = symbols.String(mapping.BuildId);
            if (buildId.Length == 0)
            {
                continue;
            }

            if (namesOnly)
            {
                held ??= [];
                if (!held.TryGetValue(buildId, out var has))
                {
                    held[buildId] = has = await symbolizer.HoldsAsync(buildId, ct);
                }

                if (!has)
                {
                    complete = false;
                    continue;
                }
            }

            var found = await symbolizer.SymbolizeAsync(buildId, loc.Address, mapping.Start, mapping.Limit, mapping.Offset, ct);
            if (found.Length == 0 || (namesOnly && !Array.Exists(found, f => f.Line > 0)))
            {
                complete = false;
                continue;
            }

            frames.Clear();
            foreach (var f in found)
            {
                frames.Add((f.Name, f.SystemName, f.File, f.Line));
            }

            symbols.SetLines(i, frames);
        }

        symbolizer.PersistPending();
        return complete;
    }

    private static bool NamesOnly(ResultSymbols symbols, Parca.Storage.Symbols.LocationSym loc)
    {
        for (var k = 0; k < loc.LineCount; k++)
        {
            var line = symbols.Lines[loc.FirstLine + k];
            if (line.Line != 0)
            {
                return false;
            }
        }

        return true;
    }
}
