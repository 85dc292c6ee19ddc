namespace Parca.Pprof;

/// <summary>
/// A byte budget shared by every decode in a process (the server's in-flight decode memory): a decode reserves the
/// inflated size of its profile before allocating it and gives it back when the caller is done with the profile.
/// When the budget is used up, further decodes are refused at once (<see cref="PprofErrorCode.DecodeBudgetExhausted"/>)
/// instead of waiting: a client retries later, while waiting would let a burst of hostile requests queue memory up.
/// </summary>
public sealed class DecodeBudget
{
    private long _inUse;

    public DecodeBudget(long capacityBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacityBytes);
        CapacityBytes = capacityBytes;
    }

    /// <summary>The most bytes that may be reserved at once.</summary>
    public long CapacityBytes { get; }

    /// <summary>Bytes reserved right now.</summary>
    public long InUseBytes => Volatile.Read(ref _inUse);

    /// <summary>Reserves <paramref name="bytes"/> when they fit; false (and nothing reserved) when they do not.</summary>
    public bool TryReserve(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        var current = Volatile.Read(ref _inUse);
        while (true)
        {
            if (current + bytes > CapacityBytes)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _inUse, current + bytes, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }

    /// <summary>Gives back bytes from an earlier successful <see cref="TryReserve"/>.</summary>
    public void Release(long bytes)
    {
        var after = Interlocked.Add(ref _inUse, -bytes);
        if (after < 0)
        {
            throw new InvalidOperationException("DecodeBudget: released more than was reserved");
        }
    }
}
