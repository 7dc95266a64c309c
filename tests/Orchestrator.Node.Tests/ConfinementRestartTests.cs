using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// A symlink inside a root repointed outside while the node is down: after the restart the disk's chain leads outside,
/// so its image is not opened and nothing of the outside file is served; the node serves its other disks.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ConfinementRestartTests
{
    [Fact]
    public async Task A_symlink_repointed_outside_before_a_restart_is_not_served_after_it()
    {
        using var folder = new TempDirectory("confine-restart");
        string real;
        string link;
        await using (var node = await NodeProcess.StartAsync(folder.Path))
        {
            real = node.Image("rs-real.qcow2");
            QemuTools.Create(real, Chains.Size);
            QemuTools.Io("-f", "qcow2", "-c", "write -P 0x11 0 16M", real).EnsureSuccess();
            link = node.Image("rs-disk.qcow2");
            File.CreateSymbolicLink(link, "rs-real.qcow2");
            (await node.CliAsync("disk", "add", "rs", link)).EnsureSuccess();
            (await node.CliAsync("disk", "add", "rs-other", Chains.Create(node.StorageRoot, "rs-other").Top)).EnsureSuccess();
        }

        var outside = Path.Combine(folder.Path, "outside", "rs-O.qcow2");
        Directory.CreateDirectory(Path.GetDirectoryName(outside)!);
        QemuTools.Create(outside, Chains.Size);
        QemuTools.Io("-f", "qcow2", "-c", "write -P 0x6f 0 16M", outside).EnsureSuccess();
        File.Delete(link);
        File.CreateSymbolicLink(link, outside);

        await using (var node = await NodeProcess.StartAsync(folder.Path))
        {
            var uri = Confine.UnixUri(node, "rs");
            var read = QemuTools.Io("-f", "raw", "-r", "-c", "read -P 0x6f 0 1M", uri);
            Assert.False(NbdGuest.Succeeded(read), "the restarted node served the outside image to the guest");
            var info = QemuTools.NbdInfoRun(uri);
            Assert.True(info.ExitCode != 0, $"disk 'rs' is still exported after its chain left the roots:\n{info.StdOut}");

            // Quarantined with the reason, in show and in list.
            var show = Json.Parse((await node.CliAsync("disk", "show", "rs", "--output", "json")).EnsureSuccess().StdOut);
            Assert.Equal("quarantined", show.GetProperty("state").GetString());
            Assert.Contains("outside the storage roots", show.GetProperty("quarantine").GetString(), StringComparison.Ordinal);
            var list = Json.Parse((await node.CliAsync("disk", "list", "--output", "json")).EnsureSuccess().StdOut);
            var listed = list.EnumerateArray().Single(d => d.GetProperty("id").GetString() == "rs");
            Assert.Equal("quarantined", listed.GetProperty("state").GetString());
            Assert.Contains("outside the storage roots", listed.GetProperty("quarantine").GetString(), StringComparison.Ordinal);

            await NodeHealth.AssertServesAsync(node, "rs-other");
            await Confine.AssertServesAsync(node, "rs-new");
        }

        Confine.AssertClean(real, outside);
    }
}
