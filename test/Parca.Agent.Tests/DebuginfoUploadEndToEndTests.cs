using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Debuginfo.V1Alpha1;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Rpc;
using Parca.Rpc.Client;
using Parca.Server;
using Parca.Server.Tests.Debuginfo;
using Parca.Symbols.Elf;

namespace Parca.Agent.Tests;

/// <summary>
/// The must-hold runs under our agent: a gcc -O2 -g program, stripped, sampled by the real agent through BPF, and the
/// server's pprof report naming every sampled address of the program with the same functions, files, lines and
/// inlined frames as binutils' <c>addr2line -i -f</c> on the debug file. Two runs cover both shipping paths and both
/// debuginfo sources: the default v2 Arrow records (WriteArrow: native frames carry ELF file addresses and no mapping
/// range, Parca's convention) with the debug file uploaded by the agent from --debuginfo-directories (by build id);
/// and WriteRaw (pprof mappings carry the range the server normalizes through) with the debug file served by Debian's
/// debuginfod in its own network namespace, the agent uploading nothing.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class DebuginfoUploadEndToEndTests
{
    [Theory]
    [InlineData("v2", "upload")]
    [InlineData("writeraw", "debuginfod")]
    public async Task Stripped_program_sampled_by_the_agent_is_named_by_the_server_as_addr2line(string shipping, string source)
    {
        var v2 = shipping == "v2";
        var upload = source == "upload";
        var root = Directory.CreateTempSubdirectory("parca-agent-debuginfo-").FullName;
        var program = NativeProgram.Build(Path.Combine(root, "program"));
        var debugDir = Path.Combine(root, "debug");
        var byId = Path.Combine(debugDir, ".build-id", program.BuildId[..2], program.BuildId[2..] + ".debug");
        Directory.CreateDirectory(Path.GetDirectoryName(byId)!);
        File.Copy(program.DebugFile, byId);
        var served = Path.Combine(root, "served");
        Directory.CreateDirectory(served);
        File.Copy(program.DebugFile, Path.Combine(served, "p.debug"));
        using var debuginfod = upload ? null : await DebuginfodPeer.StartAsync(served, program.BuildId);

        await using var server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            ConfigPath = "/nonexistent/parca.yaml",
            LogLevel = "warn",
            StoragePath = Path.Combine(root, "data"),
            DebuginfoCacheDir = Path.Combine(root, "cache"),
            DebuginfodUpstreamServers = debuginfod is null ? [] : [debuginfod.Url],
            DebuginfodHttpRequestTimeout = TimeSpan.FromSeconds(20),
        });
        await server.StartAsync();
        var address = $"127.0.0.1:{server.BaseAddress.Port}";
        var start = DateTimeOffset.UtcNow.AddMinutes(-1);
        await using var agent = await AgentHarness.StartAsync(
            "relabel_configs:\n- source_labels: [comm]\n  regex: p\n  action: keep\n- source_labels: [__meta_process_pid]\n  target_label: pid\n",
            windowSeconds: 1,
            configure: o =>
            {
                o.RemoteStoreAddress = address;
                o.RemoteStoreInsecure = true;
                o.RemoteStoreBatchWriteInterval = TimeSpan.FromSeconds(1);
                Assert.True(o.RemoteStoreUseV2Schema); // the default
                o.RemoteStoreUseV2Schema = v2;
                o.DebuginfoDirectories = upload ? [debugDir] : [];
                o.DebuginfoUploadDisable = !upload;
                o.DebuginfoTempDir = root;
            });

        using var tracee = Tracees.Start(program.Stripped, "60000000");
        await tracee.WaitForExitAsync();
        await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id));

        // The agent uploads once per build id, in the background: wait (bounded by tries, a fail-safe) until the server has it.
        using var channel = RpcChannel.Create(address, new RpcChannelOptions { Insecure = true });
        var should = new ShouldInitiateUploadRequest { BuildId = program.BuildId, Type = DebuginfoType.Executable, BuildIdType = BuildIDType.Gnu };
        for (var i = 0; upload && i < 120 && (await channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, should)).ShouldInitiateUpload; i++)
        {
            await Task.Delay(250);
        }

        if (upload)
        {
            var answer = await channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, should);
            Assert.False(answer.ShouldInitiateUpload, "the agent did not upload the debug file: " + answer.Reason);
        }

        await agent.Agent.StopAsync(); // sends what is buffered

        var response = await channel.UnaryAsync(ParcaApi.QueryService.Query, new QueryRequest
        {
            Mode = QueryRequest.Types.Mode.Merge,
            Merge = new MergeProfile
            {
                Query = $"parca_agent_cpu:samples:count:cpu:nanoseconds:delta{{comm=\"p\", pid=\"{tracee.Id}\"}}",
                Start = Timestamp.FromDateTimeOffset(start),
                End = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(1)),
            },
            ReportType = QueryRequest.Types.ReportType.Pprof,
        });
        var profile = Parca.Pprof.PprofDecoder.DecodeProfile(response.Pprof.Span);
        var mappings = profile.Mappings.Where(m => m.BuildId == program.BuildId).ToDictionary(m => m.Id);
        Assert.NotEmpty(mappings);

        // Every location in the program's mapping: the server's frames against addr2line on the same file address.
        // v2 frames arrive as file addresses in a mapping without range; WriteRaw ones as process addresses.
        var text = ElfFile.Open(program.Stripped).ProgramHeaders.First(h => h.Type == 1 && (h.Flags & 1) != 0);
        Assert.All(mappings.Values, m => Assert.Equal(v2, m.MemoryStart == 0 && m.MemoryLimit == 0 && m.FileOffset == 0));
        var functions = profile.Functions.ToDictionary(f => f.Id);
        var ours = new Dictionary<ulong, List<(string, string, long)>>();
        foreach (var loc in profile.Locations.Where(l => mappings.ContainsKey(l.MappingId)))
        {
            var m = mappings[loc.MappingId];
            var pc = v2 ? loc.Address : loc.Address - m.MemoryStart + m.FileOffset - text.Offset + text.VirtualAddress;
            ours[pc] = [.. loc.Lines.Select(l => (functions[l.FunctionId].Name, functions[l.FunctionId].Filename, l.LineNumber))];
        }

        Assert.True(ours.Count >= 3, $"only {ours.Count} sampled addresses in the program");
        var expected = program.Addr2line([.. ours.Keys]);
        // Where DWARF has no position (crt1's _start: addr2line prints "_start ??:0") the server keeps the agent's name
        // and file (the binary): the names must still agree.
        bool Same(List<(string, string, long)> server, List<(string Function, string File, long Line)> want) =>
            want.All(w => w.Line == 0) ? server.Select(f => f.Item1).SequenceEqual(want.Select(w => w.Function)) : server.SequenceEqual(want);
        Assert.True(ours.Keys.Count(pc => expected[pc].Any(f => f.Line > 0)) >= 3, "too few sampled addresses with DWARF positions");
        var differences = ours.Where(kv => !Same(kv.Value, expected[kv.Key]))
            .Select(kv => $"0x{kv.Key:x}: server [{string.Join(" | ", kv.Value)}] addr2line [{string.Join(" | ", expected[kv.Key])}]").ToList();
        Assert.True(differences.Count == 0, $"{differences.Count} of {ours.Count} addresses differ:\n" + string.Join('\n', differences));
        Assert.Contains(ours.Values, f => f.Count >= 2 && f[^1].Item1 == "busy"); // inlined frames inside busy()
        Directory.Delete(root, recursive: true);
    }
}
