using System.Net;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>Shows that a node still serves a disk made by <see cref="Chains.Create"/>: it answers for it, and a guest reads its data over NBD.</summary>
internal static class NodeHealth
{
    public static async Task AssertServesAsync(NodeProcess node, string disk)
    {
        using (var show = await node.Http.GetAsync($"disks/{disk}"))
        {
            Assert.True(show.StatusCode == HttpStatusCode.OK, $"disk show {disk}: {(int)show.StatusCode} {await show.Content.ReadAsStringAsync()}\n{node.Output}");
        }

        // Chains.Create's data in each layer: top's 0x31 at 6M, mid's 0x21 at 4M, base's 0x12 at 32M.
        var socket = Path.Combine(node.DataDirectory, NodePaths.NbdSocketFile);
        var read = await ProcessRunner.RunAsync(QemuTools.QemuIo,
            ["-f", "raw", "-r", "-c", "read -P 0x31 6M 1M", "-c", "read -P 0x21 4M 2M", "-c", "read -P 0x12 32M 4M", $"nbd+unix:///{disk}?socket={socket}"],
            timeout: TimeSpan.FromSeconds(60));
        Assert.True(NbdGuest.Succeeded(read), $"NBD read of {disk}: {read.StdOut}{read.StdErr}");
    }
}
