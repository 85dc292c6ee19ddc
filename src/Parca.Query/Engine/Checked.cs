namespace Parca.Query.Engine;

/// <summary>
/// Sums and products of profile values that must not wrap: a total that silently wraps to a negative number is a
/// wrong answer nobody notices, so an overflow becomes a precise query error instead.
/// </summary>
internal static class Checked
{
    public static long Add(long a, long b)
    {
        var sum = a + b;
        // Overflow iff both operands have the same sign and the sum's sign differs.
        if (((a ^ sum) & (b ^ sum)) < 0)
        {
            Throw(a, b, "+");
        }

        return sum;
    }

    public static long Multiply(long a, long b)
    {
        var high = Math.BigMul(a, b, out long low);
        if (high != (low >> 63)) // the 128-bit product is not the sign extension of its low half
        {
            Throw(a, b, "×");
        }

        return low;
    }

    private static void Throw(long a, long b, string op) =>
        throw new QueryException(QueryErrorKind.InvalidArgument,
            $"the selected profiles' values overflow a 64-bit total ({a} {op} {b}); select a shorter range or fewer series");
}
