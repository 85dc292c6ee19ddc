using Parca.Protocol.Query.V1Alpha1;

namespace Parca.Query.Reports.Types;

/// <summary>REPORT_TYPE_PROFILE_METADATA: the binaries and label names of the selection (for the UI's menus).</summary>
internal static class ProfileMetadataReport
{
    public static void Build(ReportContext c, QueryResponse response)
    {
        var r = c.Result;
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var m in r.Symbols.Mappings)
        {
            var file = r.Symbols.String(m.File);
            if (file.Length > 0)
            {
                files.Add(file);
            }
        }

        var meta = new ProfileMetadata();
        meta.MappingFiles.AddRange(files);
        meta.Labels.AddRange(r.LabelNames);
        response.ProfileMetadata = meta;
    }
}
