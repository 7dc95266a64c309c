using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>What the confinement tests set up (outside images, FIFOs, raw files) and assert after each bypass attempt.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static class Confine
{
    /// <summary>A folder beside the node's storage root: outside it.</summary>
    public static string Outside(NodeProcess node) => Directory.CreateDirectory(Path.Combine(node.Root, "outside")).FullName;

    /// <summary>An image outside the roots whose first 16 MiB read 0x6f, where the inside test images have nothing.</summary>
    public static string OutsideImage(NodeProcess node, string name)
    {
        var path = Path.Combine(Outside(node), name);
        QemuTools.Create(path, Chains.Size);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x6f 0 16M", path).EnsureSuccess();
        return path;
    }

    public static string RawFile(string path)
    {
        File.WriteAllBytes(path, new byte[1024 * 1024]);
        return path;
    }

    public static string Fifo(string path)
    {
        ProcessRunner.Run("mkfifo", [path]).EnsureSuccess();
        return path;
    }

    public static string UnixUri(NodeProcess node, string disk) =>
        $"nbd+unix:///{disk}?socket={Path.Combine(node.DataDirectory, NodePaths.NbdSocketFile)}";

    /// <summary>The disk is not registered and nothing is exported under its name: no byte of it reaches a guest.</summary>
    public static async Task AssertNotServedAsync(NodeProcess node, string disk)
    {
        // A refused registration may leave an empty entry behind (the manager's business): no chain means nothing opened.
        var show = await node.CliAsync("disk", "show", disk, "--output", "json");
        Assert.True(show.ExitCode != 0 || Json.Parse(show.StdOut).GetProperty("chain").GetArrayLength() == 0,
            $"disk '{disk}' is registered:\n{show.StdOut}");
        var info = QemuTools.NbdInfoRun(UnixUri(node, disk));
        Assert.True(info.ExitCode != 0, $"disk '{disk}' is exported over NBD:\n{info.StdOut}");
    }

    /// <summary>The node still registers a new disk and serves its chain's bytes over NBD.</summary>
    public static async Task AssertServesAsync(NodeProcess node, string disk)
    {
        var (_, _, top) = Chains.Create(node.StorageRoot, disk);
        (await node.CliAsync("disk", "add", disk, top)).EnsureSuccess();
        await NodeHealth.AssertServesAsync(node, disk);
    }

    /// <summary>Everything the export serves equals <paramref name="expectedRaw"/> (read with nbdcopy, compared by qemu-img).</summary>
    public static void AssertExportEquals(NodeProcess node, string disk, string expectedRaw)
    {
        var copy = expectedRaw + ".nbd";
        QemuTools.NbdCopyRun(UnixUri(node, disk), copy).EnsureSuccess();
        var compare = QemuTools.Compare(copy, expectedRaw, "raw", "raw");
        Assert.True(compare.ExitCode == 0, $"the guest reads other bytes than its chain holds: {compare.StdOut}{compare.StdErr}");
    }

    public static void AssertClean(params string[] images)
    {
        foreach (var image in images)
        {
            var check = QemuTools.Check(image);
            Assert.True(check.ExitCode == 0, $"{image}: {check.StdOut}{check.StdErr}");
        }
    }
}
