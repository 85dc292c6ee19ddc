using Parca.Server.Tests.Debuginfo;

namespace Parca.Server.Tests;

public sealed partial class ObjectStorageTests
{
    /// <summary>
    /// Debuginfo lives in the bucket next to the blocks: a stripped program's profile is written to ingest server A,
    /// the query server B reads it from the bucket (unnamed: nothing uploaded yet), a debug file with only a symbol
    /// table is uploaded to A and B names each address by its function alone; then the full debug file is uploaded to A
    /// with force, and B (which has the first file open) names the same frames as binutils' addr2line -i, inlined
    /// calls, files and lines, without an upload or a restart of its own.
    /// </summary>
    [Fact]
    public async Task Debuginfo_uploaded_to_an_ingest_server_names_frames_on_a_query_server_and_a_forced_reupload_replaces_them()
    {
        using var dir = new TempDir();
        var config = dir.Config(s3.Gateway, "debuginfo");
        var program = NativeProgram.Build(dir.Sub("program"));
        ParcaServerOptions Options(string name, bool query) => new()
        {
            HttpAddress = "127.0.0.1:0",
            LogLevel = "error",
            ConfigPath = config,
            Mode = query ? "query" : "all",
            EnablePersistence = !query,
            StorageEnableWal = !query,
            StoragePath = dir.Sub(name),
            StorageBlockDuration = TimeSpan.FromSeconds(2),
            ObjectStorageSyncInterval = TimeSpan.FromSeconds(1),
            StorageRetention = TimeSpan.Zero,
            DebuginfoCacheDir = dir.Sub(name + "-cache"),
        };

        await using var a = await DebuginfoTestServer.StartAsync(Options("a", query: false));
        await using var b = await DebuginfoTestServer.StartAsync(Options("b", query: true));

        var text = program.MapText(0x5555_5555_0000);
        var pcs = program.InterestingAddresses(6);
        var addresses = text.Addresses(pcs);
        await a.IngestAsync("shared", program.BuildId, text.Start, text.Limit, text.FileOffset, addresses);

        var unnamed = await PollAsync(() => b.QueryAsync("shared"), p => p.Locations.Count == addresses.Count);
        Assert.All(addresses, x => Assert.Empty(DebuginfoTestServer.Frames(unnamed)[x]));

        var expected = program.Addr2line(pcs);
        Assert.Contains(pcs, pc => expected[pc].Count > 1); // inlined calls: only the DWARF names them
        var symbolsOnly = dir.Sub("p.symtab");
        NativeProgram.Run("objcopy", $"--strip-debug \"{program.DebugFile}\" \"{symbolsOnly}\"");
        await a.UploadAsync(program.BuildId, await File.ReadAllBytesAsync(symbolsOnly));
        var byName = DebuginfoTestServer.Frames(await PollAsync(
            () => b.QueryAsync("shared"), p => DebuginfoTestServer.Frames(p).Values.All(f => f.Count > 0)));
        for (var i = 0; i < pcs.Count; i++)
        {
            var frame = Assert.Single(byName[addresses[i]]);
            Assert.Equal(expected[pcs[i]][^1].Function, frame.Function);
        }

        Assert.Equal((ulong)new FileInfo(program.DebugFile).Length, await a.UploadAsync(program.BuildId, await File.ReadAllBytesAsync(program.DebugFile), force: true));
        var named = DebuginfoTestServer.Frames(await PollAsync(
            () => b.QueryAsync("shared"), p => pcs.Select((pc, i) => DebuginfoTestServer.Frames(p)[addresses[i]].SequenceEqual(expected[pc])).All(same => same)));
        for (var i = 0; i < pcs.Count; i++)
        {
            Assert.Equal(expected[pcs[i]], named[addresses[i]]);
        }

        // The file and its metadata are objects under debuginfo/ in the bucket, not files on A's disk; B knows the upload.
        var objects = (await s3.Gateway.ListAsync(RadosGwFixture.Bucket, $"{dir.Prefix}/debuginfo/{program.BuildId}/")).Select(o => o.Key).ToList();
        Assert.Contains($"{dir.Prefix}/debuginfo/{program.BuildId}/debuginfo", objects);
        Assert.Contains($"{dir.Prefix}/debuginfo/{program.BuildId}/metadata", objects);
        Assert.False(Directory.Exists(Path.Combine(dir.Sub("a"), "debuginfo", program.BuildId)));
        var again = await b.ShouldInitiateAsync(program.BuildId);
        Assert.False(again.ShouldInitiateUpload);
        Assert.Equal("Debuginfo already exists and is not marked as invalid, therefore no new upload is needed.", again.Reason);
    }

    /// <summary>Calls <paramref name="read"/> until <paramref name="done"/> holds (blocks and uploads travel through the bucket); returns the last answer.</summary>
    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + s_settle;
        while (true)
        {
            try
            {
                var value = await read();
                if (done(value) || DateTime.UtcNow > deadline)
                {
                    return value;
                }
            }
            catch (Parca.Rpc.RpcException e) when (e.Status == Parca.Rpc.StatusCode.NotFound && DateTime.UtcNow < deadline)
            {
                // Not in the bucket yet.
            }

            await Task.Delay(500);
        }
    }
}
