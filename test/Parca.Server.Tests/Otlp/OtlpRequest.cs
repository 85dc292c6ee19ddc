using System.Text.Json;
using System.Text.Json.Nodes;

namespace Parca.Server.Tests.Otlp;

/// <summary>A frame of an OTLP test stack: a function (symbolized) or an address in a mapping (native, unsymbolized).</summary>
internal sealed record OtlpFrame(string? Function, ulong Address = 0, string? MappingFile = null, string? BuildId = null);

/// <summary>One OTLP sample: stack root first, values and/or timestamps, string attributes.</summary>
internal sealed record OtlpSample(OtlpFrame[] RootFirst, long[] Values, ulong[] Timestamps, (string Key, object Value)[] Attributes);

/// <summary>One OTLP profile of a scope.</summary>
internal sealed record OtlpProfile(string SampleType, string SampleUnit, string PeriodType, string PeriodUnit, long Period,
    ulong TimeNanos, ulong DurationNanos, OtlpSample[] Samples, (string Key, object Value)[]? Attributes = null);

/// <summary>
/// Builds an <c>ExportProfilesServiceRequest</c> as the plain object protobufjs encodes (test/interop/otlp-export.mjs):
/// the dictionary tables with their zero entries, stacks leaf first, mappings with the build id attribute. The
/// bytes on the wire are made by protobufjs from the .proto text, not by our generated code.
/// </summary>
internal sealed class OtlpRequest
{
    private readonly List<string> _strings = [""];
    private readonly List<object> _attributes = [new { }];
    private readonly List<object> _mappings = [new { }];
    private readonly List<object> _functions = [new { }];
    private readonly List<object> _locations = [new { }];
    private readonly List<object> _stacks = [new { }];
    private readonly List<object> _resources = [];

    public OtlpRequest Resource((string Key, object Value)[] attributes, string scopeName, params OtlpProfile[] profiles)
    {
        _resources.Add(new Dictionary<string, object>
        {
            ["resource"] = new { attributes = attributes.Select(a => KeyValue(a.Key, a.Value)).ToArray() },
            ["scope_profiles"] = new[]
            {
                new Dictionary<string, object>
                {
                    ["scope"] = new { name = scopeName, version = "1.0.0" },
                    ["profiles"] = profiles.Select(Profile).ToArray(),
                },
            },
        });
        return this;
    }

    /// <summary>The request as JSON; <paramref name="edit"/> changes it before it is sent (bad-input tests).</summary>
    public JsonNode Build(Action<JsonNode>? edit = null)
    {
        var dictionary = new Dictionary<string, object>
        {
            ["mapping_table"] = _mappings.ToArray(),
            ["location_table"] = _locations.ToArray(),
            ["function_table"] = _functions.ToArray(),
            ["link_table"] = new[] { new { } },
            ["string_table"] = _strings.ToArray(),
            ["attribute_table"] = _attributes.ToArray(),
            ["stack_table"] = _stacks.ToArray(),
        };
        var request = JsonSerializer.SerializeToNode(new Dictionary<string, object> { ["resource_profiles"] = _resources.ToArray(), ["dictionary"] = dictionary })!;
        edit?.Invoke(request);
        return request;
    }

    private object Profile(OtlpProfile p)
    {
        var result = new Dictionary<string, object>
        {
            ["sample_type"] = new { type_strindex = String(p.SampleType), unit_strindex = String(p.SampleUnit) },
            ["period_type"] = new { type_strindex = String(p.PeriodType), unit_strindex = String(p.PeriodUnit) },
            ["period"] = p.Period.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["time_unix_nano"] = p.TimeNanos.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["duration_nano"] = p.DurationNanos.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["samples"] = p.Samples.Select(Sample).ToArray(),
        };
        if (p.Attributes is { } attrs)
        {
            result["attribute_indices"] = attrs.Select(a => Attribute(a.Key, a.Value)).ToArray();
        }

        return result;
    }

    private object Sample(OtlpSample s) => new Dictionary<string, object>
    {
        ["stack_index"] = Stack(s.RootFirst),
        ["attribute_indices"] = s.Attributes.Select(a => Attribute(a.Key, a.Value)).ToArray(),
        ["values"] = s.Values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
        ["timestamps_unix_nano"] = s.Timestamps.Select(t => t.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(),
    };

    private int Stack(OtlpFrame[] rootFirst)
    {
        if (rootFirst.Length == 0)
        {
            return 0;
        }

        _stacks.Add(new { location_indices = rootFirst.Reverse().Select(Location).ToArray() });
        return _stacks.Count - 1;
    }

    private int Location(OtlpFrame f)
    {
        var location = new Dictionary<string, object> { ["address"] = f.Address.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (f.MappingFile is not null)
        {
            _mappings.Add(new Dictionary<string, object>
            {
                ["memory_start"] = "4194304",
                ["memory_limit"] = "8388608",
                ["filename_strindex"] = String(f.MappingFile),
                ["attribute_indices"] = f.BuildId is null ? Array.Empty<int>() : [Attribute("process.executable.build_id.gnu", f.BuildId)],
            });
            location["mapping_index"] = _mappings.Count - 1;
        }

        if (f.Function is not null)
        {
            _functions.Add(new { name_strindex = String(f.Function), system_name_strindex = String(f.Function), filename_strindex = String("app.c") });
            location["lines"] = new[] { new { function_index = _functions.Count - 1, line = "7" } };
        }

        _locations.Add(location);
        return _locations.Count - 1;
    }

    public int String(string s)
    {
        var i = _strings.IndexOf(s);
        if (i >= 0)
        {
            return i;
        }

        _strings.Add(s);
        return _strings.Count - 1;
    }

    private int Attribute(string key, object value)
    {
        _attributes.Add(new Dictionary<string, object> { ["key_strindex"] = String(key), ["value"] = AnyValue(value) });
        return _attributes.Count - 1;
    }

    private static object KeyValue(string key, object value) => new Dictionary<string, object> { ["key"] = key, ["value"] = AnyValue(value) };

    private static object AnyValue(object value) => value switch
    {
        string s => new { string_value = s },
        long n => new { int_value = n.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        bool b => new { bool_value = b },
        _ => throw new ArgumentException("unsupported attribute value", nameof(value)),
    };
}
