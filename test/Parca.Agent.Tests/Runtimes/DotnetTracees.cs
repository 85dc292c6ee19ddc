using System.Diagnostics;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>Builds the .NET tracees under tracees/NAME once per test run and starts them without profiling environment.</summary>
internal static class DotnetTracees
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, string> s_built = [];

    /// <summary>The path of tracees/<paramref name="name"/>'s Tracee.dll, built in Release.</summary>
    public static string Build(string name)
    {
        lock (s_lock)
        {
            if (s_built.TryGetValue(name, out var existing))
            {
                return existing;
            }

            var source = Path.Combine(AppContext.BaseDirectory, "tracees", name);
            var dir = Path.Combine(Tracees.OutputDirectory, name);
            Directory.CreateDirectory(dir);
            foreach (var f in Directory.GetFiles(source))
            {
                File.Copy(f, Path.Combine(dir, Path.GetFileName(f)), overwrite: true);
            }

            Tracees.Run(Environment.ProcessPath!, $"build {dir} -c Release -o {dir}/out -nologo -v q");
            var dll = Path.Combine(dir, "out", "Tracee.dll");
            Assert.True(File.Exists(dll), $"building {source} produced no {dll}");
            s_built[name] = dll;
            return dll;
        }
    }

    /// <summary>
    /// Starts `dotnet Tracee.dll ARGS` the way a user's service runs: no DOTNET_PerfMapEnabled or any other profiling
    /// variable (the test host's own are removed), so whatever names its frames is the agent's doing.
    /// </summary>
    public static Process Start(string dll, params string[] args)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var key in psi.Environment.Keys.ToList())
        {
            if (key.StartsWith("DOTNET_", StringComparison.OrdinalIgnoreCase) || key.StartsWith("COMPlus_", StringComparison.OrdinalIgnoreCase)
                || key.StartsWith("CORECLR_", StringComparison.OrdinalIgnoreCase))
            {
                psi.Environment.Remove(key);
            }
        }

        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + dll);
    }

    /// <summary>
    /// The entries of a tracee's perf map as the runtime wrote them (start, full name with its tier); empty before the
    /// map exists. It is in the tracee's /tmp, which is ours.
    /// </summary>
    public static List<(ulong Start, string Name)> PerfMapEntries(int pid)
    {
        var list = new List<(ulong, string)>();
        var path = $"/tmp/perf-{pid}.map";
        if (!File.Exists(path))
        {
            return list;
        }

        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (reader.ReadLine() is { } line)
        {
            var parts = line.Split(' ', 3);
            if (parts.Length == 3 && ulong.TryParse(parts[0].AsSpan(parts[0].StartsWith("0x", StringComparison.Ordinal) ? 2 : 0), System.Globalization.NumberStyles.HexNumber, null, out var start))
            {
                list.Add((start, parts[2]));
            }
        }

        return list;
    }

    /// <summary>
    /// The start of <paramref name="method"/>'s tier-1 code once the perf map lists it and the agent has unwind rows
    /// for it; 0 before.
    /// </summary>
    public static ulong Tier1WithRows(Parca.Agent.Runtimes.Dotnet.JitUnwindTables jit, int pid, string method)
    {
        var tier1 = PerfMapEntries(pid).FirstOrDefault(e => e.Name.Contains(method, StringComparison.Ordinal) && e.Name.EndsWith("[OptimizedTier1]", StringComparison.Ordinal));
        return tier1.Start != 0 && jit.Methods(pid).Any(m => m.Start == tier1.Start && m.HasRows) ? tier1.Start : 0;
    }

    /// <summary>The share of <paramref name="traces"/>' time whose frames hold <paramref name="chain"/> in order from the leaf, contiguous, then each of <paramref name="below"/> further down in order.</summary>
    public static double Share(List<PprofTrace> traces, string[] chain, string[] below)
    {
        var total = traces.Sum(t => t.Seconds);
        return total == 0 ? 0 : traces.Where(t => Matches(t.Frames, chain, below)).Sum(t => t.Seconds) / total;
    }

    public static bool Matches(string[] frames, string[] chain, string[] below)
    {
        if (frames.Length < chain.Length)
        {
            return false;
        }

        for (var i = 0; i < chain.Length; i++)
        {
            if (frames[i] != chain[i])
            {
                return false;
            }
        }

        var at = chain.Length;
        foreach (var b in below)
        {
            var alternatives = b.Split('|');
            var found = -1;
            for (var i = at; i < frames.Length && found < 0; i++)
            {
                found = Array.IndexOf(alternatives, frames[i]) >= 0 ? i : -1;
            }

            if (found < 0)
            {
                return false;
            }

            at = found + 1;
        }

        return true;
    }
}
