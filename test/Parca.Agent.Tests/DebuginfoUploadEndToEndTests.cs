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
/// The must-hold run under our agent: a gcc -O2 -g program, stripped, its debug file in --debuginfo-directories
/// (by build id), sampled by the real agent through BPF; the agent uploads the debug file to our server, and the
/// server's pprof report names every sampled address of the program with the same functions, files, lines and
/// inlined frames as binutils' <c>addr2line -i -f</c> on the debug file. Profiles go through WriteRaw (see below).
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class DebuginfoUploadEndToEndTests
{
    [Fact]
    public async Task Stripped_program_sampled_by_the_agent_is_named_by_the_server_from_the_uploaded_debug_file_as_addr2line()
    {
        var root = Directory.CreateTempSubdirectory("parca-agent-debuginfo-").FullName;
        var program = NativeProgram.Build(Path.Combine(root, "program"));
        var debugDir = Path.Combine(root, "debug");
        var byId = Path.Combine(debugDir, ".build-id", program.BuildId[..2], program.BuildId[2..] + ".debug");
        Directory.CreateDirectory(Path.GetDirectoryName(byId)!);
        File.Copy(program.DebugFile, byId);

        await using var server = ParcaServer.Create(new ParcaServerOptions
        {
            HttpAddress = "127.0.0.1:0",
            ConfigPath = "/nonexistent/parca.yaml",
            LogLevel = "warn",
            StoragePath = Path.Combine(root, "data"),
            DebuginfoCacheDir = Path.Combine(root, "cache"),
            DebuginfodUpstreamServers = [],
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
                // WriteRaw: its pprof mappings carry start/limit/offset, which the server needs to normalize addresses.
                // The v2 Arrow records carry no mapping range (Parca expects file addresses there): not symbolizable yet.
                o.RemoteStoreUseV2Schema = false;
                o.DebuginfoDirectories = [debugDir];
                o.DebuginfoTempDir = root;
            });

        using var tracee = Tracees.Start(program.Stripped, "60000000");
        await tracee.WaitForExitAsync();
        await agent.WaitForProfileAsync(p => p.Pids.Contains(tracee.Id));

        // The agent uploads once per build id, in the background: wait (bounded by tries, a fail-safe) until the server has it.
        using var channel = RpcChannel.Create(address, new RpcChannelOptions { Insecure = true });
        var should = new ShouldInitiateUploadRequest { BuildId = program.BuildId, Type = DebuginfoType.Executable, BuildIdType = BuildIDType.Gnu };
        for (var i = 0; i < 120 && (await channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, should)).ShouldInitiateUpload; i++)
        {
            await Task.Delay(250);
        }

        var answer = await channel.UnaryAsync(ParcaApi.Debuginfo.ShouldInitiateUpload, should);
        Assert.False(answer.ShouldInitiateUpload, "the agent did not upload the debug file: " + answer.Reason);
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
        var text = ElfFile.Open(program.Stripped).ProgramHeaders.First(h => h.Type == 1 && (h.Flags & 1) != 0);
        var functions = profile.Functions.ToDictionary(f => f.Id);
        var ours = new Dictionary<ulong, List<(string, string, long)>>();
        foreach (var loc in profile.Locations.Where(l => mappings.ContainsKey(l.MappingId)))
        {
            var m = mappings[loc.MappingId];
            var pc = loc.Address - m.MemoryStart + m.FileOffset - text.Offset + text.VirtualAddress;
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
