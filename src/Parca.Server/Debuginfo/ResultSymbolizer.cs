using Parca.Query.Engine;

namespace Parca.Server.Debuginfo;

/// <summary>
/// Query-time symbolization (our documented choice, as Parca): before a report is built, every location of the result
/// that has a mapping with a build id and no lines is looked up in that build id's debuginfo. Nothing is rewritten in
/// storage, so profiles stored before their debuginfo arrived are named as soon as it does; answers are cached per
/// (build id, address) by <see cref="DebuginfoSymbolizer"/>.
/// </summary>
internal sealed class ResultSymbolizer(DebuginfoSymbolizer symbolizer)
{
    public async ValueTask SymbolizeAsync(ResultSymbols symbols, CancellationToken ct)
    {
        var frames = new List<(string, string, string, long)>(4);
        for (var i = 1; i < symbols.Locations.Count; i++)
        {
            var loc = symbols.Locations[i];
            if (loc.LineCount != 0 || loc.Mapping == 0)
            {
                continue;
            }

            var mapping = symbols.Mappings[loc.Mapping];
            var buildId = symbols.String(mapping.BuildId);
            if (buildId.Length == 0)
            {
                continue;
            }

            var found = await symbolizer.SymbolizeAsync(buildId, loc.Address, mapping.Start, mapping.Limit, mapping.Offset, ct);
            if (found.Length == 0)
            {
                continue;
            }

            frames.Clear();
            foreach (var f in found)
            {
                frames.Add((f.Name, f.SystemName, f.File, f.Line));
            }

            symbols.SetLines(i, frames);
        }
    }
}
