using System.Formats.Tar;
using System.IO.Compression;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using ReportType = Parca.Protocol.Query.V1Alpha1.QueryRequest.Types.ReportType;

namespace Parca.Server.Tests.Debuginfo;

/// <summary>
/// The SOURCE report end to end: a stripped gcc -O2 program's profile (bare addresses), its debug file and a source
/// archive (tar.gz, DEBUGINFO_TYPE_SOURCES) uploaded; Query(SOURCE, source_reference) returns the file's text and per
/// line cumulative/flat equal to what binutils' addr2line -i says about the same addresses and their sample values.
/// Also: the file read from an allowed local directory instead, and the refusals.
/// </summary>
public sealed class SourceReportTests() : NativeProgramFixture("parca-source-", startServer: false)
{
    private const ulong Base = 0x5555_5555_0000;

    [Fact]
    public async Task Source_report_from_an_uploaded_archive_has_the_text_and_per_line_values_addr2line_implies()
    {
        await using var server = await DebuginfoTestServer.StartAsync(Path.Combine(Dir, "server"));
        var (pcs, addresses, start, limit, fileOffset) = Addresses();
        await server.IngestAsync("src", Program.BuildId, start, limit, fileOffset, addresses);
        await server.UploadAsync(Program.BuildId, await File.ReadAllBytesAsync(Program.DebugFile));
        var file = Path.Combine(Program.Directory, "p.c");
        await server.UploadAsync(Program.BuildId, TarGz(("/" + file.TrimStart('/'), NativeProgram.Source), ("other/x.c", "int x;\n")), DebuginfoType.Sources);

        var response = await server.Channel.UnaryAsync(ParcaApi.QueryService.Query, SourceRequest(file));
        Assert.Equal(NativeProgram.Source, response.Source.Source_);
        Assert.Equal("nanoseconds", response.Source.Unit); // a delta CPU profile merges into CPU time
        var (cumulative, flat) = ReadRecord(response.Source.Record.ToByteArray());
        var (wantCumulative, wantFlat) = Expected(pcs, file);
        Assert.Equal(NativeProgram.Source.Split('\n').Length, cumulative.Length);
        Assert.Equal(wantCumulative, cumulative);
        Assert.Equal(wantFlat, flat);
        Assert.True(cumulative.Count(v => v > 0) >= 3, "inlined lines carry cumulative values");

        var only = await server.Channel.UnaryAsync(ParcaApi.QueryService.Query, SourceRequest(file, sourceOnly: true));
        Assert.Equal("", only.Source.Source_);

        var missing = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(ParcaApi.QueryService.Query, SourceRequest("/nowhere/q.c")));
        Assert.Equal(StatusCode.NotFound, missing.Status);
        Assert.Contains("no source for /nowhere/q.c of build id " + Program.BuildId, missing.Message, StringComparison.Ordinal);

        var noReference = SourceRequest(file);
        noReference.SourceReference = null;
        var invalid = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(ParcaApi.QueryService.Query, noReference));
        Assert.Equal(StatusCode.InvalidArgument, invalid.Status);
    }

    [Fact]
    public async Task Source_read_from_an_allowedDirectory_only_for_files_the_profile_names()
    {
        await using var server = await DebuginfoTestServer.StartAsync(Path.Combine(Dir, "local"), sourceDirectories: [Program.Directory]);
        var (pcs, addresses, start, limit, fileOffset) = Addresses();
        await server.IngestAsync("src", Program.BuildId, start, limit, fileOffset, addresses);
        await server.UploadAsync(Program.BuildId, await File.ReadAllBytesAsync(Program.DebugFile));
        var file = Path.Combine(Program.Directory, "p.c");

        var response = await server.Channel.UnaryAsync(ParcaApi.QueryService.Query, SourceRequest(file));
        Assert.Equal(NativeProgram.Source, response.Source.Source_);
        Assert.Equal(Expected(pcs, file).Cumulative, ReadRecord(response.Source.Record.ToByteArray()).Cumulative);

        // Inside the directory but named by no frame, and outside it (through ".."): not served.
        await File.WriteAllTextAsync(Path.Combine(Program.Directory, "secret.c"), "secret\n");
        foreach (var path in new[] { Path.Combine(Program.Directory, "secret.c"), Program.Directory + "/../../../etc/passwd", "/etc/passwd" })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(ParcaApi.QueryService.Query, SourceRequest(path)));
            Assert.Equal(StatusCode.NotFound, e.Status);
        }
    }

    [Fact]
    public async Task Corrupt_source_archive_is_a_failed_precondition_naming_the_build_id()
    {
        await using var server = await DebuginfoTestServer.StartAsync(Path.Combine(Dir, "corrupt"));
        var (_, addresses, start, limit, fileOffset) = Addresses();
        await server.IngestAsync("src", Program.BuildId, start, limit, fileOffset, addresses);
        await server.UploadAsync(Program.BuildId, [0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9], DebuginfoType.Sources);

        var e = await Assert.ThrowsAsync<RpcException>(() => server.Channel.UnaryAsync(ParcaApi.QueryService.Query, SourceRequest("/x/p.c")));
        Assert.Equal(StatusCode.FailedPrecondition, e.Status);
        Assert.Contains("sources archive of build id " + Program.BuildId + " is unreadable", e.Message, StringComparison.Ordinal);
    }

    private QueryRequest SourceRequest(string filename, bool sourceOnly = false)
    {
        var request = DebuginfoTestServer.MergeRequest("src", ReportType.Source);
        request.SourceReference = new SourceReference { BuildId = Program.BuildId, Filename = filename, SourceOnly = sourceOnly };
        return request;
    }

    private (List<ulong> Pcs, List<ulong> Addresses, ulong Start, ulong Limit, ulong FileOffset) Addresses()
    {
        var text = Program.MapText(Base);
        var pcs = Program.InterestingAddresses(8);
        return (pcs, text.Addresses(pcs), text.Start, text.Limit, text.FileOffset);
    }

    /// <summary>
    /// From addr2line's frames: sample i (i + 1 samples of the 10 ms period, so (i + 1) × 10⁷ ns of CPU, one location)
    /// adds its value to the cumulative of every frame's line in the file, and to the flat of its innermost frame's line.
    /// </summary>
    private (long[] Cumulative, long[] Flat) Expected(List<ulong> pcs, string file)
    {
        var lines = NativeProgram.Source.Split('\n').Length;
        var cumulative = new long[lines];
        var flat = new long[lines];
        var frames = Program.Addr2line(pcs);
        for (var i = 0; i < pcs.Count; i++)
        {
            var f = frames[pcs[i]];
            for (var k = 0; k < f.Count; k++)
            {
                if (f[k].File == file && f[k].Line > 0)
                {
                    cumulative[f[k].Line - 1] += (i + 1) * 10_000_000L;
                    flat[f[k].Line - 1] += k == 0 ? (i + 1) * 10_000_000L : 0;
                }
            }
        }

        return (cumulative, flat);
    }

    private static (long[] Cumulative, long[] Flat) ReadRecord(byte[] ipc)
    {
        using var reader = new ArrowStreamReader(new MemoryStream(ipc));
        var batch = reader.ReadNextRecordBatch();
        Assert.Equal(["cumulative", "flat"], batch.Schema.FieldsList.Select(f => f.Name));
        var c = (Int64Array)batch.Column(0);
        var f = (Int64Array)batch.Column(1);
        return ([.. Enumerable.Range(0, c.Length).Select(i => c.GetValue(i) ?? 0)], [.. Enumerable.Range(0, f.Length).Select(i => f.GetValue(i) ?? 0)]);
    }

    private static byte[] TarGz(params (string Name, string Text)[] files)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (name, text) in files)
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)) };
                tar.WriteEntry(entry);
            }
        }

        return output.ToArray();
    }
}
