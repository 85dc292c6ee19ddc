using OpenTelemetry.Proto.Collector.Profiles.V1Development;

namespace Parca.Ingest.Otlp;

/// <summary>
/// OpenTelemetry profiles (<c>ProfilesService/Export</c>, opentelemetry-proto v1.10.0, the version Parca builds
/// against) into storage. Each OTLP profile has one sample type; it becomes Parca's profile type
/// <c>&lt;scope name&gt;:&lt;sample type&gt;:&lt;unit&gt;:&lt;period type&gt;:&lt;unit&gt;</c>, delta when
/// <c>duration_nano</c> ≠ 0, with the scope name sanitized as a label name ("unknown" when empty), as Parca names
/// it. Samples with timestamps become one row per timestamp (value 1 when there are no values); others one row of
/// their single value at the profile's time. Rows then group into profiles per type, label set and 10 s bucket,
/// like Arrow rows, and go through the shared ingest step (<see cref="ProfileCommit"/>).
/// </summary>
internal sealed class OtlpIngest(ProfileCommit commit)
{
    /// <summary>Validates and stores an export; returns the number of samples stored. Throws <see cref="IngestError"/>.</summary>
    public long Export(ExportProfilesServiceRequest request)
    {
        // Disposing returns the request's pooled buffers, once its profiles are stored (or refused).
        using var symbols = new SymbolTable();
        using var groups = new ProfileGroups(symbols, Arrow.ArrowIngest.BucketNanos);
        var d = new OtlpDictionary(request.Dictionary, symbols);
        var reader = new ProfileReader(groups, symbols, d);
        for (var r = 0; r < request.ResourceProfiles.Count; r++)
        {
            var rp = request.ResourceProfiles[r];
            var resource = new Dictionary<string, string>(StringComparer.Ordinal);
            if (rp.Resource is { } res)
            {
                CheckKeys(res.Attributes, $"resource_profiles[{r}].resource.attributes");
                OtlpLabels.Add(resource, res.Attributes);
            }

            for (var s = 0; s < rp.ScopeProfiles.Count; s++)
            {
                var sp = rp.ScopeProfiles[s];
                var name = OtlpLabels.Sanitize(sp.Scope?.Name ?? "");
                name = name.Length == 0 ? "unknown" : name;
                for (var p = 0; p < sp.Profiles.Count; p++)
                {
                    var where = $"resource_profiles[{r}].scope_profiles[{s}].profiles[{p}]";
                    // Outer levels win (Parca): profile attributes, then scope's, then the resource's overwrite.
                    var labels = new Dictionary<string, string>(StringComparer.Ordinal);
                    var profile = sp.Profiles[p];
                    OtlpDictionary.Indices(profile.AttributeIndices, d.AttributeCount, where + ".attribute_indices", "attribute_table");
                    OtlpLabels.Add(labels, d, profile.AttributeIndices, overwrite: true);
                    if (sp.Scope is { } scope)
                    {
                        OtlpLabels.Add(labels, scope.Attributes);
                    }

                    foreach (var (k, v) in resource)
                    {
                        labels[k] = v;
                    }

                    reader.Read(profile, name, labels, where);
                }
            }
        }

        return commit.Store(groups, "resource_profiles");
    }

    /// <summary>Parca refuses empty and duplicate resource attribute keys; so do we.</summary>
    private static void CheckKeys(Google.Protobuf.Collections.RepeatedField<OpenTelemetry.Proto.Common.V1.KeyValue> attributes, string where)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < attributes.Count; i++)
        {
            if (attributes[i].Key.Length == 0)
            {
                throw new IngestError($"{where}[{i}].key: empty");
            }

            if (!seen.Add(attributes[i].Key))
            {
                throw new IngestError($"{where}[{i}].key: '{OtlpDictionary.Clip(attributes[i].Key)}' appears twice");
            }
        }
    }
}
