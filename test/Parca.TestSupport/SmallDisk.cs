using System.Diagnostics;
using Parca.Storage;

namespace Parca.TestSupport;

/// <summary>
/// A real, small file system for disk-full tests: a tmpfs of a few MiB mounted on a temporary directory (needs root,
/// as CI runs; without it the test fails saying so). <see cref="Fill"/> takes every free byte with a filler file,
/// <see cref="Free"/> gives them back.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private readonly string _filler;

    public SmallDisk(string size = "8m")
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException("this test mounts a tmpfs to fill a real disk: run it as root (CI does)");
        }

        Path = Directory.CreateTempSubdirectory("parca-small-disk-").FullName;
        Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", Path);
        _filler = System.IO.Path.Combine(Path, "filler");
    }

    public string Path { get; }

    /// <summary>Writes the filler until the file system refuses (ENOSPC); returns the bytes taken.</summary>
    public long Fill()
    {
        var chunk = new byte[4096];
        long written = 0;
        using var f = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.None, 0);
        try
        {
            while (true)
            {
                f.Write(chunk);
                written += chunk.Length;
            }
        }
        catch (IOException e) when (StorageWriteException.IsDiskFull(e))
        {
            return written;
        }
    }

    public void Free() => File.Delete(_filler);

    public void Dispose()
    {
        Run("umount", "-l", Path);
        Directory.Delete(Path, true);
    }

    private static void Run(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true })!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)}: exit {p.ExitCode}: {err}");
        }
    }
}
