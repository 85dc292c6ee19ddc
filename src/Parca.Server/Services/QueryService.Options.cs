using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Query.Filters;
using Parca.Rpc;
using ProtoFilterCriteria = Parca.Protocol.Query.V1Alpha1.FilterCriteria;
using ProtoStringCondition = Parca.Protocol.Query.V1Alpha1.StringCondition;
using StringCondition = Parca.Query.Filters.StringCondition;

namespace Parca.Server.Services;

internal sealed partial class QueryService
{
    /// <summary>Filters (deprecated forms converted as Parca does), group-by, invert and sandwich.</summary>
    internal static ProfileQueryOptions ToOptions(QueryRequest request, int maxGroups = int.MaxValue, CancellationToken cancellationToken = default)
    {
#pragma warning disable CS0612 // deprecated filter forms are still accepted and converted, as Parca does
        var filters = new List<ProfileFilter>();
        for (var i = 0; i < request.Filter.Count; i++)
        {
            var f = request.Filter[i];
            switch (f.FilterCase)
            {
                case Filter.FilterOneofCase.StackFilter when f.StackFilter.FilterCase == StackFilter.FilterOneofCase.FunctionNameStackFilter:
                    var fn = f.StackFilter.FunctionNameStackFilter;
                    filters.Add(ProfileFilter.Stack(new Query.Filters.FilterCriteria
                    {
                        FunctionName = new StringCondition(fn.Exclude ? StringOp.NotContains : StringOp.Contains, fn.FunctionToFilter),
                    }));
                    break;
                case Filter.FilterOneofCase.StackFilter when f.StackFilter.FilterCase == StackFilter.FilterOneofCase.Criteria:
                    filters.Add(ProfileFilter.Stack(Criteria(f.StackFilter.Criteria, $"filter[{i}].stack_filter.criteria")));
                    break;
                case Filter.FilterOneofCase.FrameFilter when f.FrameFilter.FilterCase == FrameFilter.FilterOneofCase.BinaryFrameFilter:
                    foreach (var b in f.FrameFilter.BinaryFrameFilter.IncludeBinaries)
                    {
                        filters.Add(ProfileFilter.Frame(new Query.Filters.FilterCriteria { Binary = new StringCondition(StringOp.Contains, b) }));
                    }

                    break;
                case Filter.FilterOneofCase.FrameFilter when f.FrameFilter.FilterCase == FrameFilter.FilterOneofCase.Criteria:
                    filters.Add(ProfileFilter.Frame(Criteria(f.FrameFilter.Criteria, $"filter[{i}].frame_filter.criteria")));
                    break;
                default:
                    throw new RpcException(StatusCode.InvalidArgument, $"filter[{i}]: empty filter");
            }
        }

#pragma warning restore CS0612
        return new ProfileQueryOptions
        {
            Filters = filters,
            // A flame chart is the flame graph of every profile at its own time, as Parca builds it.
            GroupBy = request.ReportType == QueryRequest.Types.ReportType.Flamechart
                ? [.. request.GroupBy?.Fields ?? [], "timestamp"]
                : request.GroupBy is null ? [] : [.. request.GroupBy.Fields],
            InvertCallStack = request.HasInvertCallStack && request.InvertCallStack,
            SandwichByFunction = request.HasSandwichByFunction ? request.SandwichByFunction : null,
            MaxGroups = maxGroups,
            CancellationToken = cancellationToken,
        };
    }

    private static Query.Filters.FilterCriteria Criteria(ProtoFilterCriteria c, string where) => new()
    {
        FunctionName = Str(c.FunctionName, where + ".function_name"),
        SystemName = Str(c.SystemName, where + ".system_name"),
        Binary = Str(c.Binary, where + ".binary"),
        Filename = Str(c.Filename, where + ".filename"),
        Address = Num(c.Address),
        LineNumber = Num(c.LineNumber),
    };

    private static StringCondition? Str(ProtoStringCondition? s, string where) => s?.ConditionCase switch
    {
        null or ProtoStringCondition.ConditionOneofCase.None => null,
        ProtoStringCondition.ConditionOneofCase.Equal => new StringCondition(StringOp.Equal, s.Equal),
        ProtoStringCondition.ConditionOneofCase.NotEqual => new StringCondition(StringOp.NotEqual, s.NotEqual),
        ProtoStringCondition.ConditionOneofCase.Contains => new StringCondition(StringOp.Contains, s.Contains),
        ProtoStringCondition.ConditionOneofCase.NotContains => new StringCondition(StringOp.NotContains, s.NotContains),
        ProtoStringCondition.ConditionOneofCase.StartsWith => new StringCondition(StringOp.StartsWith, s.StartsWith),
        ProtoStringCondition.ConditionOneofCase.NotStartsWith => new StringCondition(StringOp.NotStartsWith, s.NotStartsWith),
        _ => throw new RpcException(StatusCode.InvalidArgument, $"{where}: unknown condition"),
    };

    private static Query.Filters.NumberCondition? Num(Protocol.Query.V1Alpha1.NumberCondition? n) => n?.ConditionCase switch
    {
        Protocol.Query.V1Alpha1.NumberCondition.ConditionOneofCase.Equal => new Query.Filters.NumberCondition(true, n.Equal),
        Protocol.Query.V1Alpha1.NumberCondition.ConditionOneofCase.NotEqual => new Query.Filters.NumberCondition(false, n.NotEqual),
        _ => null,
    };
}
