using Parca.Protocol.Debuginfo.V1Alpha1;

namespace Parca.Server.Debuginfo;

/// <summary>The chunk_data of an Upload call as a read-only stream, so the bucket can copy it without buffering the file.</summary>
internal sealed class UploadChunkStream(IAsyncEnumerator<UploadRequest> messages, long maxBytes) : Stream
{
    private ReadOnlyMemory<byte> _current;
    private long _total;
    private bool _done;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _total; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current.IsEmpty)
        {
            if (_done || !await messages.MoveNextAsync())
            {
                _done = true;
                return 0;
            }

            var m = messages.Current;
            if (m.DataCase != UploadRequest.DataOneofCase.ChunkData)
            {
                throw new UnexpectedUploadMessageException();
            }

            _current = m.ChunkData.Memory;
            _total += _current.Length;
            if (_total > maxBytes)
            {
                throw new UploadTooLargeException();
            }
        }

        var n = Math.Min(buffer.Length, _current.Length);
        _current[..n].CopyTo(buffer);
        _current = _current[n..];
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

internal sealed class UploadTooLargeException : Exception;

internal sealed class UnexpectedUploadMessageException : Exception;
