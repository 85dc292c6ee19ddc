using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Parca.Protocol.Profilestore.V1Alpha1;
using Parca.Rpc.Server;

namespace Parca.Benchmarks.Rpc;

/// <summary>
/// The server's request parse for one WriteRaw of the load generator's shape (10 series × one 130 KB pprof), from
/// the request body pipe as Kestrel hands it over (4 KB segments): Google.Protobuf's parser (copies every raw_profile
/// into a new large-object-heap array) against copying the frame once into a pooled buffer and parsing it with
/// <see cref="BorrowingParsers.WriteRawRequest"/> (raw_profile aliases the buffer).
/// </summary>
[MemoryDiagnoser]
public class WriteRawParseBenchmarks
{
    private ReadOnlySequence<byte> _frame;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var request = new WriteRawRequest();
        for (var s = 0; s < 10; s++)
        {
            var payload = new byte[130_000];
            rng.NextBytes(payload);
            request.Series.Add(new RawProfileSeries
            {
                Labels = new LabelSet { Labels = { new Label { Name = "__name__", Value = "parca_agent_cpu" }, new Label { Name = "node", Value = "node-" + s } } },
                Samples = { new RawSample { RawProfile = ByteString.CopyFrom(payload) } },
            });
        }

        _frame = Segments(request.ToByteArray(), 4096);
    }

    [Benchmark(Baseline = true)]
    public int Generated() => WriteRawRequest.Parser.ParseFrom(_frame).Series.Count;

    [Benchmark]
    public int Borrowing()
    {
        var length = (int)_frame.Length;
        var array = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            _frame.CopyTo(array);
            return BorrowingParsers.WriteRawRequest(array.AsMemory(0, length))!.Series.Count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private static ReadOnlySequence<byte> Segments(byte[] data, int size)
    {
        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < data.Length; offset += size)
        {
            var next = new Segment(data.AsMemory(offset, Math.Min(size, data.Length - offset)), offset);
            if (last is null)
            {
                first = next;
            }
            else
            {
                last.SetNext(next);
            }

            last = next;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
