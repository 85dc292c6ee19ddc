namespace Parca.Agent.Interpreters;

/// <summary>
/// Structure offsets of one PHP version on x86-64, non-ZTS (see <see cref="PhpLayouts"/> for each value's source).
/// The first group is what the BPF walker reads (struct parca_php_proc in bpf/interp.h); the rest is what the
/// symbolizer reads to name a function.
/// </summary>
internal sealed record PhpLayout
{
    public required string Version { get; init; }

    public required ushort ExecutorCurrentExecuteData { get; init; }

    public required ushort ExecuteDataOpline { get; init; }

    public required ushort ExecuteDataFunc { get; init; }

    public required ushort ExecuteDataCallInfo { get; init; }

    public required ushort ExecuteDataPrevious { get; init; }

    public required ushort FunctionType { get; init; }

    public required ushort OpLine { get; init; }

    public required int FunctionName { get; init; }

    public required int FunctionScope { get; init; }

    public required int OpArrayFilename { get; init; }

    public required int OpArrayLineStart { get; init; }

    public required int StringLength { get; init; }

    public required int StringValue { get; init; }

    public required int ClassName { get; init; }
}
