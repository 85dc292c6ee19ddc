using Parca.Symbols.IO;

namespace Parca.Symbols.Tests;

/// <summary>Files opened for symbolization on behalf of a process stay inside its root and are regular, bounded files.</summary>
public sealed class SafeFileTests
{
    [Fact]
    public void Absolute_and_relative_links_resolve_inside_the_root_not_on_the_host()
    {
        var root = Tools.TempDirectory("saferoot");
        Directory.CreateDirectory(Path.Combine(root, "etc"));
        Directory.CreateDirectory(Path.Combine(root, "usr/lib/debug"));
        File.WriteAllText(Path.Combine(root, "etc/hostname"), "inside");
        File.CreateSymbolicLink(Path.Combine(root, "usr/lib/debug/abs.debug"), "/etc/hostname");
        File.CreateSymbolicLink(Path.Combine(root, "usr/lib/debug/rel.debug"), "../../../../../../../etc/hostname");

        foreach (var link in new[] { "/usr/lib/debug/abs.debug", "/usr/lib/debug/rel.debug" })
        {
            using var handle = SafeFile.TryOpen(root, link, 1 << 20, out var problem);
            Assert.NotNull(handle);
            Assert.Null(problem);
            var buffer = new byte[6];
            RandomAccess.Read(handle, buffer, 0);
            Assert.Equal("inside"u8.ToArray(), buffer); // the process's /etc/hostname, not the agent's
        }
    }

    [Fact]
    public void Fifos_directories_oversized_files_and_link_loops_are_refused_with_the_reason()
    {
        var root = Tools.TempDirectory("saferefuse");
        Tools.Bash(root, "mkfifo fifo && mkdir dir && head -c 4096 /dev/zero > big && ln -s loop2 loop1 && ln -s loop1 loop2");
        Assert.Null(SafeFile.TryOpen(root, "/fifo", 1 << 20, out var fifo));
        Assert.Equal("/fifo: not a regular file", fifo);
        Assert.Null(SafeFile.TryOpen(root, "/dir", 1 << 20, out var dir));
        Assert.Equal("/dir: not a regular file", dir);
        Assert.Null(SafeFile.TryOpen(root, "/big", 1024, out var big));
        Assert.Equal("/big: 4096 bytes exceeds the 1024 byte limit", big);
        Assert.Null(SafeFile.TryOpen(root, "/loop1", 1 << 20, out var loop));
        Assert.Equal("/loop1: too many symbolic links", loop);
        Assert.Null(SafeFile.TryOpen(root, "/missing/file", 1 << 20, out var missing));
        Assert.Equal("/missing/file: does not exist", missing);
    }
}
