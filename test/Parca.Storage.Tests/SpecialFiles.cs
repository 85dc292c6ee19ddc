using System.Diagnostics;

namespace Parca.Storage.Tests;

/// <summary>FIFOs and device nodes made with the coreutils commands, for the data-directory hygiene tests.</summary>
internal static class SpecialFiles
{
    public static void MakeFifo(string path) => Run("mkfifo", path);

    /// <summary>A character device node (mknod needs root, as CI runs; without it the test fails saying so).</summary>
    public static void MakeCharacterDevice(string path, int major, int minor) =>
        Run("mknod", path, "c", major.ToString(System.Globalization.CultureInfo.InvariantCulture), minor.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static void Run(string command, params string[] args)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command} did not start");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {string.Join(' ', args)} failed (root needed for device nodes): {error}");
        }
    }
}
