using Parca.Query.Reports;
using Parca.Server.Services;

namespace Parca.Server.Tests;

/// <summary>The start-up warm-up answers every report type it covers over its own synthetic profile, without error.</summary>
public sealed class QueryWarmupTests
{
    [Fact]
    public void Warmup_answers_each_report_type_over_its_own_store()
    {
        // Throws (QueryException, RpcException, IngestError) if any report type fails over the synthetic profile,
        // e.g. when the profile no longer passes ingest checks or a selector stops matching it.
        var (_, total) = QueryWarmup.Run(new ParcaServerOptions(), new ReportLimits(1L << 30, 64 * 1024 * 1024));
        Assert.True(total > 4_000, $"the reports saw a total of {total}: the selector no longer matches the synthetic profile"); // ≥ 1 per stack

    }
}
