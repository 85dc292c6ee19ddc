using Google.Protobuf.WellKnownTypes;
using Parca.Protocol.Query.V1Alpha1;
using Parca.Query.Engine;
using Parca.Query.Reports;
using Parca.Rpc;
using Parca.Rpc.Server;
using MetricsSeries = Parca.Protocol.Query.V1Alpha1.MetricsSeries;
using ProfileTypeMessage = Parca.Protocol.Query.V1Alpha1.ProfileType;
using ProtoLabel = Parca.Protocol.Profilestore.V1Alpha1.Label;
using ProtoLabelSet = Parca.Protocol.Profilestore.V1Alpha1.LabelSet;
using ValueType = Parca.Protocol.Query.V1Alpha1.ValueType;

namespace Parca.Server.Services;

/// <summary>
/// parca.query.v1alpha1.QueryService over <see cref="QueryEngine"/>. Bad requests are INVALID_ARGUMENT with what was
/// wrong; empty results NOT_FOUND (as Parca). ShareProfile needs pprof.me and answers UNIMPLEMENTED.
/// </summary>
internal sealed partial class QueryService(QueryEngine engine, ParcaServerOptions serverOptions, ReportLimits limits, Debuginfo.ResultSymbolizer? symbolizer = null, Debuginfo.SourceFinder? sources = null, ReportCache? cache = null) : IRpcService
{
    public void Register(RpcServiceBuilder builder)
    {
        builder.MapUnary(ParcaApi.QueryService.ProfileTypes, ProfileTypes);
        builder.MapUnary(ParcaApi.QueryService.Labels, Labels);
        builder.MapUnary(ParcaApi.QueryService.Values, Values);
        builder.MapUnary(ParcaApi.QueryService.HasProfileData, HasProfileData);
        // Parca answers Series with UNIMPLEMENTED too; Labels/Values/QueryRange cover what it was meant for.
        builder.MapUnary(ParcaApi.QueryService.Series, (SeriesRequest _, RpcCallContext _) =>
            throw new RpcException(StatusCode.Unimplemented, "Series is not implemented (as in Parca): use Labels, Values or QueryRange"));
        builder.MapUnaryEncoded(ParcaApi.QueryService.QueryRange, QueryRangeEncoded);
        builder.MapUnaryEncoded(ParcaApi.QueryService.Query, Query);
        builder.MapUnary(ParcaApi.QueryService.ShareProfile, (ShareProfileRequest _, RpcCallContext _) =>
            throw new RpcException(StatusCode.Unimplemented, "sharing to pprof.me is not available from this server"));
    }

    internal static long Nanos(Timestamp? t) => t is null ? 0 : (t.Seconds * 1_000_000_000L) + t.Nanos;

    private static RpcException ToRpc(QueryException e) => new(
        e.Kind switch
        {
            QueryErrorKind.NotFound => StatusCode.NotFound,
            QueryErrorKind.ResourceExhausted => StatusCode.ResourceExhausted,
            _ => StatusCode.InvalidArgument,
        },
        e.Message);

    private ValueTask<ProfileTypesResponse> ProfileTypes(ProfileTypesRequest request, RpcCallContext context)
    {
        var response = new ProfileTypesResponse();
        foreach (var t in engine.ProfileTypes(Nanos(request.Start), Nanos(request.End)))
        {
            response.Types_.Add(new ProfileTypeMessage
            {
                Name = t.Name,
                SampleType = t.SampleType,
                SampleUnit = t.SampleUnit,
                PeriodType = t.PeriodType,
                PeriodUnit = t.PeriodUnit,
                Delta = t.Delta,
            });
        }

        return ValueTask.FromResult(response);
    }

    private ValueTask<LabelsResponse> Labels(LabelsRequest request, RpcCallContext context)
    {
        try
        {
            var response = new LabelsResponse();
            response.LabelNames.AddRange(engine.Labels([.. request.Match], request.HasProfileType ? request.ProfileType : null, Nanos(request.Start), Nanos(request.End), context.CancellationToken));
            return ValueTask.FromResult(response);
        }
        catch (QueryException e)
        {
            throw ToRpc(e);
        }
    }

    private ValueTask<ValuesResponse> Values(ValuesRequest request, RpcCallContext context)
    {
        if (request.LabelName.Length == 0)
        {
            throw new RpcException(StatusCode.InvalidArgument, "label_name is required");
        }

        try
        {
            var response = new ValuesResponse();
            response.LabelValues.AddRange(engine.Values(request.LabelName, request.HasProfileType ? request.ProfileType : null, Nanos(request.Start), Nanos(request.End)));
            return ValueTask.FromResult(response);
        }
        catch (QueryException e)
        {
            throw ToRpc(e);
        }
    }

    private ValueTask<HasProfileDataResponse> HasProfileData(HasProfileDataRequest request, RpcCallContext context) =>
        ValueTask.FromResult(new HasProfileDataResponse { HasData = engine.HasProfileData() });

    private ValueTask<EncodedMessage<QueryRangeResponse>> QueryRangeEncoded(QueryRangeRequest request, RpcCallContext context) =>
        ValueTask.FromResult(WithBucketState(context, () => QueryRangeEncoded(engine, request, serverOptions.Limits.QueryMaxGroups, context.CancellationToken)));

    /// <summary>
    /// Object storage in answers: a query over local data while the bucket is unreachable answers with a
    /// <c>parca-warning</c> response header saying so; a cold block that cannot be read mid-query is UNAVAILABLE.
    /// </summary>
    private T WithBucketState<T>(RpcCallContext context, Func<T> run)
    {
        T result;
        try
        {
            result = run();
        }
        catch (Parca.Storage.Buckets.BucketException e)
        {
            throw new RpcException(StatusCode.Unavailable, "object storage unreachable while reading a block: " + e.Message);
        }

        if (engine.Store.BucketWarning is { } warning)
        {
            context.AddResponseHeader("parca-warning", warning);
        }

        return result;
    }

    /// <summary>The QueryRange handler's work (validation, engine, response message); benchmarks call it directly.</summary>
    internal static QueryRangeResponse QueryRange(QueryEngine engine, QueryRangeRequest request, int maxGroups = int.MaxValue, CancellationToken cancellationToken = default)
    {
        var result = RunQueryRange(engine, request, maxGroups, cancellationToken);
        // Delta series put every point at its step's start: one Timestamp message per step, shared by all series
        // (messages are only serialized, never mutated), halves the objects of a large response.
        var shared = result[0].TimestampIsStepStart && result[0].BucketCount <= 1 << 20 ? new Timestamp?[result[0].BucketCount] : null;
        var messages = new MetricsSeries[result.Count];
        var points = 0L;
        foreach (var s in result)
        {
            points += s.Count;
        }

        // Large responses build their series on all cores (the messages are independent; the shared Timestamps
        // are made first, so the parallel part only reads them).
        if (points >= 100_000 && result.Count > 1)
        {
            if (shared is not null)
            {
                foreach (var s in result)
                {
                    for (var i = 0; i < shared.Length; i++)
                    {
                        if (shared[i] is null && s.HasPoint(i))
                        {
                            shared[i] = ToTimestamp(s.GetPoint(i).TimestampNanos);
                        }
                    }
                }
            }

            Parallel.For(0, result.Count, i => messages[i] = ToProto(result[i], shared));
        }
        else
        {
            for (var i = 0; i < result.Count; i++)
            {
                messages[i] = ToProto(result[i], shared);
            }
        }

        var response = new QueryRangeResponse();
        response.Series.AddRange(messages);
        return response;
    }

    /// <summary>QueryRange's validation and engine call, shared by the message and the encoded response.</summary>
    private static IReadOnlyList<Query.Engine.MetricsSeries> RunQueryRange(QueryEngine engine, QueryRangeRequest request, int maxGroups, CancellationToken cancellationToken)
    {
        if (request.Query.Length == 0)
        {
            throw new RpcException(StatusCode.InvalidArgument, "query is required");
        }

        if (request.Start is null || request.End is null)
        {
            throw new RpcException(StatusCode.InvalidArgument, "start and end are required");
        }

        var step = request.Step is null ? 0 : (request.Step.Seconds * 1_000_000_000L) + request.Step.Nanos;
        try
        {
            var (start, end) = (Nanos(request.Start), Nanos(request.End));
            return engine.QueryRange(request.Query, start, end, step, [.. request.SumBy], maxGroups, cancellationToken);
        }
        catch (QueryException e)
        {
            throw ToRpc(e);
        }
    }

    private static MetricsSeries ToProto(Query.Engine.MetricsSeries s, Timestamp?[]? shared)
    {
        var m = new MetricsSeries { Labelset = ToProto(s.Labels) };
        if (s.SampleType is { } st)
        {
            m.SampleType = new ValueType { Type = st.Type, Unit = st.Unit };
        }

        if (s.PeriodType is { } pt)
        {
            m.PeriodType = new ValueType { Type = pt.Type, Unit = pt.Unit };
        }

        var samples = m.Samples;
        samples.Capacity = s.Count;
        for (var i = 0; i < s.BucketCount; i++)
        {
            if (!s.HasPoint(i))
            {
                continue;
            }

            var p = s.GetPoint(i);
            var sample = new MetricsSample
            {
                Timestamp = shared is null ? ToTimestamp(p.TimestampNanos) : shared[i] ??= ToTimestamp(p.TimestampNanos),
                Value = p.Value,
                ValuePerSecond = p.ValuePerSecond,
                Duration = p.DurationNanos,
                Count = p.Count,
            };
            if (p.HasRange)
            {
                sample.MinValue = p.MinValue;
                sample.MaxValue = p.MaxValue;
                sample.MaxTimestamp = ToTimestamp(p.MaxTimestampNanos);
            }

            samples.Add(sample);
        }

        return m;
    }

    internal static Timestamp ToTimestamp(long nanos) => new() { Seconds = Math.DivRem(nanos, 1_000_000_000L, out var rem) - (rem < 0 ? 1 : 0), Nanos = (int)(rem < 0 ? rem + 1_000_000_000L : rem) };

    internal static ProtoLabelSet ToProto(Storage.LabelSet labels)
    {
        var set = new ProtoLabelSet();
        foreach (var l in labels.Labels)
        {
            set.Labels.Add(new ProtoLabel { Name = l.Name, Value = l.Value });
        }

        return set;
    }

    /// <summary>
    /// Report types with a direct encoder (TOP) are answered with their bytes (no message objects to build and
    /// serialize); the others as messages, serialized by the transport as usual.
    /// </summary>
    private async ValueTask<EncodedMessage<QueryResponse>> Query(QueryRequest request, RpcCallContext context)
    {
        var reference = request.ReportType == QueryRequest.Types.ReportType.Source ? ValidSourceReference(request) : null;
        var key = cache is null ? default : ReportCache.KeyOf(request, engine.Store);
        if (cache is not null && cache.TryGet(key, out var cached))
        {
            ReportData hit = cached;
            return reference is null
                ? WithBucketState(context, () => ReportEncoded(request, hit))
                : EncodedMessage<QueryResponse>.Of(await SourceAsync(request, reference, hit, context.CancellationToken));
        }

        var result = WithBucketState(context, () => Merge(request, context.CancellationToken));
        // A result with frames that debuginfo arriving later could name is not cached: the next query must see them
        // named (the cache key knows new samples, not new debuginfo).
        var complete = symbolizer is null || await symbolizer.SymbolizeAsync(result.Symbols, context.CancellationToken);
        var data = new ReportData(result);
        if (complete)
        {
            cache?.Add(key, data);
        }

        return reference is null ? ReportEncoded(request, data) : EncodedMessage<QueryResponse>.Of(await SourceAsync(request, reference, data, context.CancellationToken));
    }

    private static SourceReference ValidSourceReference(QueryRequest request)
    {
        var reference = request.SourceReference;
        if (reference is null || reference.BuildId.Length == 0 || reference.Filename.Length == 0)
        {
            throw new RpcException(StatusCode.InvalidArgument, "report_type SOURCE needs source_reference with build_id and filename");
        }

        return reference;
    }

    /// <summary>
    /// REPORT_TYPE_SOURCE: the file's text from the build id's source archive or an allowed local directory
    /// (<see cref="Debuginfo.SourceFinder"/>), NOT_FOUND when there is none; with source_only, only whether it exists.
    /// </summary>
    private async Task<QueryResponse> SourceAsync(QueryRequest request, SourceReference reference, ReportData data, CancellationToken ct)
    {
        var result = data.Result;
        var referenced = ReportPipeline.ReferencesSource(result, reference.BuildId, reference.Filename);
        var missing = $"no source for {reference.Filename} of build id {reference.BuildId}: upload a sources archive (DEBUGINFO_TYPE_SOURCES)" +
            " or allow its directory with --debuginfo-source-directories";
        if (reference.SourceOnly)
        {
            return sources is not null && await sources.ExistsAsync(reference.BuildId, reference.Filename, referenced, ct)
                ? new QueryResponse { Total = result.Total, Filtered = result.Filtered, Source = new Source { Unit = result.SampleUnit } }
                : throw new RpcException(StatusCode.NotFound, missing);
        }

        var text = sources is null ? null : await sources.FindAsync(reference.BuildId, reference.Filename, referenced, ct);
        if (text is null)
        {
            throw new RpcException(StatusCode.NotFound, missing);
        }

        try
        {
            return ReportPipeline.Build(request.ReportType, data, 0f, limits, new Query.Reports.Types.SourceInput(reference.BuildId, reference.Filename, text));
        }
        catch (QueryException e)
        {
            throw ToRpc(e);
        }
    }

    /// <summary>The Query handler's work (validation, engine, report) without query-time symbolization; benchmarks call it directly.</summary>
    internal QueryResponse Execute(QueryRequest request, CancellationToken cancellationToken = default) =>
        Report(request, new ReportData(Merge(request, cancellationToken)));

    /// <summary>As <see cref="Execute"/>, in the form the transport sends (TOP encoded directly).</summary>
    internal EncodedMessage<QueryResponse> ExecuteEncoded(QueryRequest request, CancellationToken cancellationToken = default) =>
        ReportEncoded(request, new ReportData(Merge(request, cancellationToken)));

    private EncodedMessage<QueryResponse> ReportEncoded(QueryRequest request, ReportData data)
    {
        try
        {
            var bytes = ReportPipeline.TryEncode(request.ReportType, data, Trim(request), limits);
            return bytes is null ? EncodedMessage<QueryResponse>.Of(Report(request, data)) : new EncodedMessage<QueryResponse>(bytes, bytes.Length, pooled: false);
        }
        catch (QueryException e)
        {
            throw ToRpc(e);
        }
    }

    private static float Trim(QueryRequest request) => request.HasNodeTrimThreshold ? request.NodeTrimThreshold : 0f;

    private QueryResponse Report(QueryRequest request, ReportData data)
    {
        try
        {
            return ReportPipeline.Build(request.ReportType, data, Trim(request), limits);
        }
        catch (QueryException e)
        {
            throw ToRpc(e);
        }
    }

    private MergeResult Merge(QueryRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var options = ToOptions(request, serverOptions.Limits.QueryMaxGroups, cancellationToken);
            return request.Mode switch
            {
                QueryRequest.Types.Mode.Merge => request.OptionsCase == QueryRequest.OptionsOneofCase.Merge
                    ? engine.Query(Selection(request.Merge), options)
                    : throw Invalid("mode MERGE needs the merge options"),
                QueryRequest.Types.Mode.Diff => request.OptionsCase == QueryRequest.OptionsOneofCase.Diff
                    ? engine.Diff(Selection(request.Diff.A, "diff.a"), Selection(request.Diff.B, "diff.b"), request.Diff.HasAbsolute && request.Diff.Absolute, options)
                    : throw Invalid("mode DIFF needs the diff options"),
                QueryRequest.Types.Mode.SingleUnspecified => request.OptionsCase == QueryRequest.OptionsOneofCase.Single
                    ? engine.Query(Selection(request.Single), options)
                    : throw Invalid("mode SINGLE needs the single options"),
                _ => throw Invalid($"unknown mode {(int)request.Mode}"),
            };
        }
        catch (QueryException e)
        {
            throw ToRpc(e);
        }
    }

    private static RpcException Invalid(string message) => new(StatusCode.InvalidArgument, message);

    private static ProfileSelection Selection(MergeProfile? m)
    {
        if (m is null || m.Query.Length == 0 || m.Start is null || m.End is null)
        {
            throw Invalid("merge needs query, start and end");
        }

        var (start, end) = (Nanos(m.Start), Nanos(m.End));
        return end < start ? throw Invalid("merge: start must not be after end") : ProfileSelection.Merge(m.Query, start, end);
    }

    private static ProfileSelection Selection(SingleProfile? s)
    {
        if (s is null || s.Query.Length == 0 || s.Time is null)
        {
            throw Invalid("single needs query and time");
        }

        return ProfileSelection.At(s.Query, Nanos(s.Time));
    }

    private static ProfileSelection Selection(ProfileDiffSelection? d, string where)
    {
        if (d is null)
        {
            throw Invalid($"{where} is required");
        }

        return d.Mode == ProfileDiffSelection.Types.Mode.Merge ? Selection(d.Merge) : Selection(d.Single);
    }

}
