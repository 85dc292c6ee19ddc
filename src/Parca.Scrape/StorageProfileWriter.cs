using Parca.Ingest;

namespace Parca.Scrape;

/// <summary>
/// Scraped profiles go through the same <see cref="ProfileWriter"/> as <c>ProfileStoreService.WriteRaw</c>: the same
/// label and pprof validation, the same all-or-nothing append into storage. The scraper's decoded profile is taken
/// as it is (<see cref="IDecodedProfileWriter"/>), so a scraped profile is decoded once.
/// </summary>
internal sealed class StorageProfileWriter(ProfileWriter writer) : IProfileWriter, IDecodedProfileWriter
{
    public ValueTask WriteRawAsync(IReadOnlyList<KeyValuePair<string, string>> labels, ReadOnlyMemory<byte> pprof, IReadOnlyList<ExecutableInfo> executableInfos, CancellationToken cancellationToken) =>
        Write(labels, pprof, null, executableInfos);

    public ValueTask WriteDecodedAsync(IReadOnlyList<KeyValuePair<string, string>> labels, ReadOnlyMemory<byte> pprof, Pprof.FlatProfile decoded, IReadOnlyList<ExecutableInfo> executableInfos, CancellationToken cancellationToken) =>
        Write(labels, pprof, decoded, executableInfos);

    private ValueTask Write(IReadOnlyList<KeyValuePair<string, string>> labels, ReadOnlyMemory<byte> pprof, Pprof.FlatProfile? decoded, IReadOnlyList<ExecutableInfo> executableInfos)
    {
        List<Storage.Ingest.ExecutableInfo>? infos = null;
        if (executableInfos.Count > 0)
        {
            infos = new List<Storage.Ingest.ExecutableInfo>(executableInfos.Count);
            foreach (var info in executableInfos)
            {
                infos.Add(new Storage.Ingest.ExecutableInfo(info.ElfType, info.Offset, info.VAddr));
            }
        }

        writer.Write([new WriteSeries(labels, [new WriteSample(pprof, infos, decoded)])]);
        return ValueTask.CompletedTask;
    }
}
