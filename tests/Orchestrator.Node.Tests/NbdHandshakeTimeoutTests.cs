using System.Net;
using System.Net.Sockets;
using Orchestrator.Testing;

namespace Orchestrator.Node.Tests;

/// <summary>
/// Issue 9's "300 idle half-open connections stay open indefinitely", against a real node: with
/// --nbd-handshake-timeout 2, clients that connect (over the Unix socket and over TCP) and never finish the handshake
/// get the greeting, then the end of the stream; the node serves its disks meanwhile and afterwards.
/// (LimitsTests holds the NBD server itself to the same, with its connection count.)
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NbdHandshakeTimeoutTests
{
    private const int Greeting = 18;

    [Fact]
    public async Task Three_hundred_half_open_connections_are_closed_after_the_handshake_timeout_and_the_node_serves_on()
    {
        using var folder = new TempDirectory("nbd-handshake");
        var port = NodeProcess.FreePort();
        await using var node = await NodeProcess.StartAsync(folder.Path, "--nbd", $"127.0.0.1:{port}", "--nbd-handshake-timeout", "2");
        var (_, _, top) = Chains.Create(node.StorageRoot, "hs");
        (await node.CliAsync("disk", "add", "hs", top)).EnsureSuccess();
        var unixPath = Path.Combine(node.DataDirectory, NodePaths.NbdSocketFile);

        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 300; i++)
            {
                var overTcp = i % 2 == 1;
                var socket = overTcp
                    ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
                    : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(overTcp ? new IPEndPoint(IPAddress.Loopback, port) : new UnixDomainSocketEndPoint(unixPath));
                sockets.Add(socket);
                if (i % 3 == 1)
                {
                    // Some get as far as the client flags (fixed newstyle, no zeroes), then go quiet.
                    await socket.SendAsync(new byte[] { 0, 0, 0, 3 });
                }
            }

            // While they hang, the node serves its disk.
            await NodeHealth.AssertServesAsync(node, "hs");

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var received = await Task.WhenAll(sockets.Select(s => ReadToEndAsync(s, deadline.Token)));
            Assert.All(received, n => Assert.Equal(Greeting, n));
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        await NodeHealth.AssertServesAsync(node, "hs");
        Assert.False(node.HasExited, "the node exited");
    }

    /// <summary>Bytes read until the server closes the connection; fails the test if it does not within the deadline.</summary>
    private static async Task<int> ReadToEndAsync(Socket socket, CancellationToken deadline)
    {
        var buffer = new byte[64];
        var total = 0;
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer.AsMemory(total), deadline)) > 0)
            {
                total += n;
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"a half-open connection was still open after 60 s (it had read {total} bytes)");
        }

        return total;
    }
}
