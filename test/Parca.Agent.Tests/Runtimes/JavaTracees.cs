using System.Diagnostics;

namespace Parca.Agent.Tests.Runtimes;

/// <summary>Compiles the Java tracees under tracees/NAME with OpenJDK 17's javac once per run and starts them with no JVM flags.</summary>
internal static class JavaTracees
{
    /// <summary>Debian's OpenJDK 17 (scripts/bootstrap.sh installs openjdk-17-jdk-headless).</summary>
    public const string Home = "/usr/lib/jvm/java-17-openjdk-amd64";

    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, string> s_built = [];

    /// <summary>The class path of tracees/<paramref name="name"/>'s compiled classes.</summary>
    public static string Build(string name)
    {
        lock (s_lock)
        {
            if (s_built.TryGetValue(name, out var existing))
            {
                return existing;
            }

            Assert.True(File.Exists($"{Home}/bin/javac"), $"{Home}/bin/javac is missing: install openjdk-17-jdk-headless (scripts/bootstrap.sh test)");
            var source = Path.Combine(AppContext.BaseDirectory, "tracees", name);
            var output = Path.Combine(Tracees.OutputDirectory, "java-" + name);
            Directory.CreateDirectory(output);
            Tracees.Run($"{Home}/bin/javac", $"-d {output} {string.Join(' ', Directory.GetFiles(source, "*.java"))}");
            s_built[name] = output;
            return output;
        }
    }

    /// <summary>
    /// Starts `java -cp CLASSPATH MAIN ARGS` as a user's service runs: no JVM flag and none of the JDK's option
    /// variables (the test host's are removed), so whatever names its frames is the agent's doing.
    /// </summary>
    public static Process Start(string classPath, string mainClass, params string[] args)
    {
        var psi = new ProcessStartInfo($"{Home}/bin/java") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardInput = true, WorkingDirectory = classPath };
        psi.ArgumentList.Add("-cp");
        psi.ArgumentList.Add(classPath);
        psi.ArgumentList.Add(mainClass);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var key in new[] { "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS" })
        {
            psi.Environment.Remove(key);
        }

        return Process.Start(psi) ?? throw new InvalidOperationException("could not start " + mainClass);
    }
}
