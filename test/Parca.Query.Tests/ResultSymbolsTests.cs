using Parca.Query.Engine;
using Parca.Storage.Symbols;

namespace Parca.Query.Tests;

/// <summary>
/// The first partition is appended without lookups; what comes after (another partition, frame-filtered lines,
/// query-time symbolization) must still find those entries by content, so nothing is listed twice.
/// </summary>
public sealed class ResultSymbolsTests
{
    // Strings: "", main, work, app.go, /bin/app; functions main, work; locations main@0x10, work@0x20 (one line each).
    private static SymbolsView Partition(bool reversed, bool extra)
    {
        string[] strings = reversed ? ["", "work", "main", "app.go", "/bin/app", "gc"] : ["", "main", "work", "app.go", "/bin/app", "gc"];
        int main = reversed ? 2 : 1, work = reversed ? 1 : 2;
        MappingSym[] mappings = [default, new MappingSym(0x0, 0x1000, 0, 4, 0)];
        List<FunctionSym> functions = [default, new FunctionSym(reversed ? work : main, 0, 3, 0), new FunctionSym(reversed ? main : work, 0, 3, 0)];
        List<LineSym> lines = [new LineSym(1, reversed ? 6 : 2), new LineSym(2, reversed ? 2 : 6)];
        List<LocationSym> locations = [default, new LocationSym(1, reversed ? 0x20UL : 0x10UL, 0, 1), new LocationSym(1, reversed ? 0x10UL : 0x20UL, 1, 1)];
        if (extra)
        {
            functions.Add(new FunctionSym(5, 0, 3, 9));
            lines.Add(new LineSym(3, 11));
            locations.Add(new LocationSym(1, 0x30, 2, 1));
        }

        return new SymbolsView(strings, strings.Length, mappings, mappings.Length, [.. functions], functions.Count, [.. locations], locations.Count, [.. lines], lines.Count);
    }

    [Fact]
    public void A_second_partition_finds_the_first_ones_symbols_by_content()
    {
        var r = new ResultSymbols();
        var first = new ResultSymbols.Importer(r, Partition(reversed: false, extra: false));
        var main = first.Location(1);
        var work = first.Location(2);
        Assert.Equal([1, 2], new[] { main, work });
        Assert.True(first.Distinct);

        var second = new ResultSymbols.Importer(r, Partition(reversed: true, extra: true));
        Assert.Equal(work, second.Location(1));
        Assert.Equal(main, second.Location(2));
        var gc = second.Location(3);
        Assert.Equal(3, gc);
        Assert.True(second.Distinct);

        Assert.Equal(["", "main", "app.go", "/bin/app", "work", "gc"], r.Strings);
        Assert.Equal(4, r.Functions.Count);
        Assert.Equal(2, r.Mappings.Count);
        Assert.Equal(["main", "work", "gc"], new[] { r.FunctionName(main), r.FunctionName(work), r.FunctionName(gc) });
        Assert.Equal(0x30UL, r.Locations[gc].Address);
    }

    [Fact]
    public void Frame_filtered_lines_and_symbolization_after_a_direct_import_reuse_its_entries()
    {
        var r = new ResultSymbols();
        var first = new ResultSymbols.Importer(r, Partition(reversed: false, extra: true));
        Assert.Equal(1, first.Location(1));
        Assert.Equal(2, first.Location(2));

        // The same location with all of its (one) line kept is the location already imported, not a copy.
        Assert.Equal(2, first.Location(2, [true]));
        Assert.Equal(3, r.Locations.Count);

        // Symbolizing names an existing function: its strings and function entry are found, not added again.
        r.SetLines(1, [("work", "", "app.go", 7)]);
        Assert.Equal(3, r.Functions.Count);
        Assert.Equal(5, r.Strings.Count); // "gc" is not imported yet; nothing else is new
        Assert.Equal("work", r.FunctionName(1));
        Assert.Equal(r.Lines[r.Locations[2].FirstLine].Function, r.Lines[r.Locations[1].FirstLine].Function);
    }
}
