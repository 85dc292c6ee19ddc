using Microsoft.Extensions.Logging;

namespace Parca.Rpc.Client;

/// <summary>
/// The one sender of profiles to a Parca store, used by the agent (<c>--remote-store-address</c>, WriteRaw or
/// WriteArrow) and by the forwarder (<c>--store-address</c>, WriteRaw).
/// <para>
/// Writes return at once into a FIFO queue bounded in profiles and bytes (when full, the oldest waiting profiles are
/// dropped and counted). One sender task takes a batch from the head (at least one profile, at most
/// <see cref="ProfileSenderOptions.MaxBatchBytes"/>) every <see cref="ProfileSenderOptions.FlushInterval"/> (or as
/// soon as something is queued when that is zero) and sends it until the store takes it. A transient failure (store
/// down, deadline, connection reset: any status but the refusals below) keeps the batch in flight and retries it with
/// exponential back-off; a refusal (<c>INVALID_ARGUMENT</c>, <c>RESOURCE_EXHAUSTED</c>, <c>OUT_OF_RANGE</c>,
/// <c>UNIMPLEMENTED</c>) splits the batch and resends its profiles one by one, so one bad profile never blocks or
/// takes down the rest; a single refused profile is dropped and counted. At shutdown the queue is flushed for up to
/// <see cref="ProfileSenderOptions.ShutdownFlushTimeout"/>; what is still undelivered then is counted as dropped.
/// Delivery is at least once: a batch whose response was lost after the store took it is sent again.
/// </para>
/// </summary>
/// <typeparam name="T">A queued profile; the caller turns a batch of them into one request.</typeparam>
public sealed partial class ProfileSender<T> : IAsyncDisposable
    where T : class
{
    private static readonly TimeSpan s_flushBackoff = TimeSpan.FromMilliseconds(500);

    private readonly ProfileSenderOptions _options;
    private readonly Func<IReadOnlyList<T>, DateTime, CancellationToken, Task> _send;
    private readonly Func<T, long> _size;
    private readonly Func<T, string> _describe;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly LinkedList<Pending> _waiting = new(); // guarded by _gate
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _closing = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _sender;
    private long _waitingBytes; // guarded by _gate
    private int _inFlight; // profiles in the batch being sent
    private bool _closed; // guarded by _gate
    private int _disposed;
    private long _sent;
    private long _dropped;
    private long _rejected;
    private long _failures;

    /// <param name="send">sends one batch as one request; throws <see cref="Grpc.Core.RpcException"/> when the store answers an error.</param>
    /// <param name="size">the bytes a profile holds in the queue (for the byte bound and batch size).</param>
    /// <param name="describe">the profile's label set, for the log line when the store refuses it.</param>
    public ProfileSender(ProfileSenderOptions options, Func<IReadOnlyList<T>, DateTime, CancellationToken, Task> send, Func<T, long> size, Func<T, string> describe, ILogger logger)
    {
        _options = options;
        _send = send;
        _size = size;
        _describe = describe;
        _logger = logger;
        _sender = Task.Run(SendLoopAsync);
    }

    /// <summary>Profiles delivered, dropped (queue full or undeliverable at shutdown), refused by the store, and failed calls.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Rejected => Interlocked.Read(ref _rejected);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Profiles waiting, including the batch being sent.</summary>
    public long QueuedProfiles
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count + Volatile.Read(ref _inFlight);
            }
        }
    }

    /// <summary>Bytes of profiles waiting (not counting the batch being sent).</summary>
    public long QueuedBytes
    {
        get
        {
            lock (_gate)
            {
                return _waitingBytes;
            }
        }
    }

    /// <summary>Whether shutdown began (no more profiles are accepted; the queue is being flushed).</summary>
    public bool Closed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>Queues a profile, dropping the oldest waiting ones until it fits. Throws when it can never fit or at shutdown.</summary>
    public void Enqueue(T item)
    {
        var size = _size(item);
        if (size > _options.MaxQueuedBytes)
        {
            throw new InvalidOperationException($"profile of {size} bytes exceeds the send queue's {_options.MaxQueuedBytes} byte bound");
        }

        var dropped = 0;
        lock (_gate)
        {
            if (_closed)
            {
                throw new InvalidOperationException("the sender is shutting down");
            }

            while (_waiting.Count > 0 && (_waiting.Count >= _options.MaxQueuedProfiles || _waitingBytes + size > _options.MaxQueuedBytes))
            {
                _waitingBytes -= _waiting.First!.Value.Size;
                _waiting.RemoveFirst();
                dropped++;
            }

            _waiting.AddLast(new Pending(item, size));
            _waitingBytes += size;
        }

        if (dropped > 0)
        {
            Count(ref _dropped, dropped, _options.OnDropped);
            LogQueueFull(_logger, _options.Destination, dropped, _options.MaxQueuedProfiles, _options.MaxQueuedBytes);
        }

        if (_signal.CurrentCount == 0)
        {
            _signal.Release(); // one pending wake-up is enough: the sender drains the queue each time
        }
    }

    /// <summary>
    /// One attempt at everything queued, for tests and callers without the background task: refused profiles are
    /// split out as usual; on a transient failure the batch goes back to the front of the queue. True when nothing
    /// is left to retry.
    /// </summary>
    public async Task<bool> FlushOnceAsync(CancellationToken cancellationToken)
    {
        while (TakeBatch(out _) is { } batch)
        {
            try
            {
                await SendOrSplitAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Count(ref _failures, 1, _options.OnFailure);
                LogSendFailed(_logger, _options.Destination, batch.Count, e.Message, TimeSpan.Zero);
                lock (_gate)
                {
                    for (var i = batch.Count - 1; i >= 0; i--)
                    {
                        var size = _size(batch[i]);
                        _waiting.AddFirst(new Pending(batch[i], size));
                        _waitingBytes += size;
                    }
                }

                return false;
            }
            finally
            {
                Volatile.Write(ref _inFlight, 0);
            }
        }

        return true;
    }

    /// <summary>
    /// Takes a batch from the head of the queue: at least one profile, at most the batch size in bytes (and, with
    /// <see cref="ProfileSenderOptions.OneProfilePerSeries"/>, one profile per series; queue order is kept).
    /// </summary>
    private List<T>? TakeBatch(out bool closed)
    {
        lock (_gate)
        {
            closed = _closed;
            if (_waiting.Count == 0)
            {
                return null;
            }

            var batch = new List<T>();
            long bytes = 0;
            HashSet<string>? series = _options.OneProfilePerSeries ? new(StringComparer.Ordinal) : null;
            while (_waiting.First is { } next && (batch.Count == 0 || bytes + next.Value.Size <= _options.MaxBatchBytes))
            {
                if (series is not null && !series.Add(_describe(next.Value.Item)))
                {
                    break; // a second profile of a series: the next batch
                }

                _waiting.RemoveFirst();
                _waitingBytes -= next.Value.Size;
                bytes += next.Value.Size;
                batch.Add(next.Value.Item);
            }

            Volatile.Write(ref _inFlight, batch.Count);
            return batch;
        }
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (true)
            {
                if (_options.FlushInterval > TimeSpan.Zero && !_closing.Task.IsCompleted)
                {
                    // Batches go out once per interval (the agent's --remote-store-batch-write-interval); shutdown cuts the wait short.
                    await Task.WhenAny(Task.Delay(_options.FlushInterval, _stop.Token), _closing.Task).ConfigureAwait(false);
                    _stop.Token.ThrowIfCancellationRequested();
                }

                while (TakeBatch(out _) is { } batch)
                {
                    await SendWithRetriesAsync(batch).ConfigureAwait(false);
                    Volatile.Write(ref _inFlight, 0);
                }

                if (Closed)
                {
                    lock (_gate)
                    {
                        if (_waiting.Count == 0)
                        {
                            return; // flushed
                        }
                    }

                    continue;
                }

                if (_options.FlushInterval <= TimeSpan.Zero)
                {
                    await _signal.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Shutdown after the flush deadline (the call in flight ends as cancelled): what is left is lost.
            int abandoned;
            lock (_gate)
            {
                abandoned = _waiting.Count + Volatile.Read(ref _inFlight);
                _waiting.Clear();
                _waitingBytes = 0;
            }

            if (abandoned > 0)
            {
                Count(ref _dropped, abandoned, _options.OnDropped);
                LogAbandoned(_logger, _options.Destination, abandoned, _options.ShutdownFlushTimeout);
            }
        }
    }

    /// <summary>Sends until the store took the batch or refused its profiles; throws only when stopped.</summary>
    private async Task SendWithRetriesAsync(List<T> batch)
    {
        var backoff = _options.InitialBackoff;
        while (true)
        {
            try
            {
                await SendOrSplitAsync(batch, _stop.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!_stop.IsCancellationRequested)
            {
                // Anything but a refusal is transient as far as we can tell: keep the batch and try again.
                Count(ref _failures, 1, _options.OnFailure);
                LogSendFailed(_logger, _options.Destination, batch.Count, e.Message, backoff);
                if (_closing.Task.IsCompleted)
                {
                    // Flushing at shutdown: retry often within the flush timeout rather than sleep through it.
                    await Task.Delay(TimeSpan.FromTicks(Math.Min(backoff.Ticks, s_flushBackoff.Ticks)), _stop.Token).ConfigureAwait(false);
                }
                else
                {
                    await Task.WhenAny(Task.Delay(backoff, _stop.Token), _closing.Task).ConfigureAwait(false);
                    _stop.Token.ThrowIfCancellationRequested();
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>
    /// Sends a batch; when the store refuses it, sends each profile alone so the valid ones still arrive (which one
    /// was refused is unknown) and drops the refused ones. Transient failures propagate.
    /// </summary>
    private async Task SendOrSplitAsync(List<T> batch, CancellationToken cancellationToken)
    {
        try
        {
            await _send(batch, DateTime.UtcNow + _options.CallTimeout, cancellationToken).ConfigureAwait(false);
            Count(ref _sent, batch.Count, _options.OnSent);
            return;
        }
        catch (Grpc.Core.RpcException e) when (IsRefusal(e.StatusCode) && !cancellationToken.IsCancellationRequested)
        {
            if (batch.Count == 1)
            {
                Count(ref _rejected, 1, _options.OnRejected);
                LogRejected(_logger, _options.Destination, e.StatusCode, e.Status.Detail, _describe(batch[0]));
                return;
            }

            LogSplitting(_logger, _options.Destination, batch.Count, e.StatusCode, e.Status.Detail);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            List<T> single = [batch[i]];
            try
            {
                await SendOrSplitAsync(single, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                // A transient failure part way: what was delivered stays delivered, the rest is retried as one batch.
                batch.RemoveRange(0, i);
                throw;
            }

            Volatile.Write(ref _inFlight, batch.Count - i - 1);
        }
    }

    /// <summary>Statuses meaning the store will never take this request as it is, so resending it unchanged is useless.</summary>
    private static bool IsRefusal(Grpc.Core.StatusCode status) =>
        status is Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.ResourceExhausted or Grpc.Core.StatusCode.OutOfRange or Grpc.Core.StatusCode.Unimplemented;

    private static void Count(ref long counter, long n, Action<long>? observer)
    {
        Interlocked.Add(ref counter, n);
        observer?.Invoke(n);
    }

    /// <summary>Stops accepting profiles and delivers what is queued, for at most <see cref="ProfileSenderOptions.ShutdownFlushTimeout"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_gate)
        {
            _closed = true;
        }

        _closing.TrySetResult();
        _signal.Release();
        _stop.CancelAfter(_options.ShutdownFlushTimeout);
        await _sender.ConfigureAwait(false);
        _stop.Dispose();
        _signal.Dispose();
    }

    private readonly record struct Pending(T Item, long Size);

    [LoggerMessage(300, LogLevel.Warning, "sending to the store failed, retrying: store={Store} profiles={Count} err={Error} backoff={Backoff}")]
    private static partial void LogSendFailed(ILogger logger, string store, int count, string error, TimeSpan backoff);

    [LoggerMessage(301, LogLevel.Warning, "send queue full, dropped the oldest profiles: store={Store} dropped={Count} max_profiles={MaxProfiles} max_bytes={MaxBytes}")]
    private static partial void LogQueueFull(ILogger logger, string store, int count, int maxProfiles, long maxBytes);

    [LoggerMessage(302, LogLevel.Warning, "the store refused a batch, sending its profiles one by one: store={Store} profiles={Count} code={Code} err={Error}")]
    private static partial void LogSplitting(ILogger logger, string store, int count, Grpc.Core.StatusCode code, string error);

    [LoggerMessage(303, LogLevel.Error, "the store refused a profile, dropped it: store={Store} code={Code} err={Error} series={Series}")]
    private static partial void LogRejected(ILogger logger, string store, Grpc.Core.StatusCode code, string error, string series);

    [LoggerMessage(304, LogLevel.Error, "shutdown: profiles not delivered to the store within the flush timeout were dropped: store={Store} profiles={Count} timeout={Timeout}")]
    private static partial void LogAbandoned(ILogger logger, string store, int count, TimeSpan timeout);
}
