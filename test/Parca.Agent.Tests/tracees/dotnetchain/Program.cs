using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Tracee.Chain;

// A four-level managed call chain ending in a CPU-bound leaf: Main -> Outer.Level1 -> Middle<T>.Level2 -> Inner.Level3 -> Leaf.Burn.
// Runs for args[0] seconds (default 5), then prints its CPU time like the C tracees.
public static class Program
{
    public static void Main(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;
        var clock = Stopwatch.StartNew();
        ulong sink = 0;
        long calls = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            sink += Outer.Level1(sink);
            calls++;
        }

        // The benchmark (bench/dotnet-runtimes.sh) compares calls per CPU second with and without the agent.
        Console.WriteLine($"cpu_seconds {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} calls {calls} {sink % 2}");
    }
}

internal static class Outer
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong Level1(ulong n) => Middle<long>.Level2(n) + 1;
}

internal static class Middle<T>
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong Level2(ulong n) => Inner.Level3(n) + 1;
}

internal static class Inner
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong Level3(ulong n) => Leaf.Burn(n) + 1;
}

internal static class Leaf
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong Burn(ulong n)
    {
        var x = n;
        for (var i = 0; i < 2_000_000; i++)
        {
            x = (x * 6364136223846793005UL) + 1442695040888963407UL;
        }

        return x;
    }
}
